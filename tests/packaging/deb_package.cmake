# ctest deb_package: natter's .deb, as `cpack -G DEB` builds it from the
# build tree (packaging/deb), unpacked with dpkg-deb -x into SCRATCH/root
# and checked there (no dpkg database is touched):
# 1. the control fields: version, Depends from dpkg-shlibdeps, conffiles,
#    the maintainer scripts;
# 2. the files in their FHS places, the unit naming /usr/sbin/natterd and
#    /etc/natter/natterd.conf, that config the example one;
# 3. the programs run from the unpacked tree: --version of natterd and
#    natter, natterd --check-config of the packaged config, natter-conform
#    finding its packaged cases;
# 4. the maintainer scripts, run with deb-systemd-helper, deb-systemd-invoke
#    and systemctl replaced by stubs that log their arguments: a first
#    install enables natterd.service, an upgrade keeps an administrator's
#    disable, removal stops it, purge forgets the units; natterd is started
#    (or restarted) only where systemd runs (/run/systemd/system);
# 5. lintian finds no error and no warning (the overrides in
#    packaging/deb/lintian-overrides say why for any it may not report).

function(fail)
  string(JOIN "" text ${ARGN})
  message(FATAL_ERROR "deb_package: ${text}")
endfunction()

# Runs a command; fails unless it exits 0. Its output goes to `out`.
function(run out)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE text ERROR_VARIABLE text)
  if(NOT rc EQUAL 0)
    string(JOIN " " cmd ${ARGN})
    fail("${cmd} (status ${rc}):\n${text}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${SCRATCH})
run(out ${CPACK} -G DEB --config ${BUILD_DIR}/CPackConfig.cmake -B ${SCRATCH}/out)
file(GLOB debs ${SCRATCH}/out/*.deb)
list(LENGTH debs n)
if(NOT n EQUAL 1)
  fail("cpack made ${n} .deb files, not one:\n${out}")
endif()
set(deb ${debs})
get_filename_component(name ${deb} NAME)
if(NOT name MATCHES "^natter_${VERSION}_[a-z0-9]+\\.deb$")
  fail("${name} is not natter_${VERSION}_<arch>.deb")
endif()

# 1. Control fields and files.
run(version ${DPKG_DEB} --field ${deb} Version)
string(STRIP "${version}" version)
if(NOT version STREQUAL VERSION)
  fail("Version: ${version}, not ${VERSION}")
endif()
run(depends ${DPKG_DEB} --field ${deb} Depends)
foreach(lib libc6 libssl3 libreadline8 libsystemd0 libhiredis0.14 libutf8proc2)
  if(NOT depends MATCHES "(^|, )${lib} ")
    fail("Depends: ${depends} names no ${lib}")
  endif()
endforeach()
run(out ${DPKG_DEB} --control ${deb} ${SCRATCH}/control)
file(STRINGS ${SCRATCH}/control/conffiles conffiles)
if(NOT conffiles STREQUAL "/etc/natter/natterd.conf")
  fail("conffiles: '${conffiles}', not /etc/natter/natterd.conf")
endif()
foreach(script postinst prerm postrm)
  file(STRINGS ${SCRATCH}/control/${script} enables REGEX "deb-systemd-(helper|invoke)")
  if(NOT enables)
    fail("${script} does not handle natterd.service")
  endif()
endforeach()

# 2. The files.
set(root ${SCRATCH}/root)
run(out ${DPKG_DEB} -x ${deb} ${root})
foreach(f
    usr/sbin/natterd usr/bin/natter usr/bin/natter-conform usr/bin/natter-bench
    usr/share/man/man8/natterd.8.gz usr/share/man/man5/natterd.conf.5.gz
    usr/share/man/man1/natter.1.gz usr/share/man/man1/natter-conform.1.gz
    usr/share/man/man1/natter-bench.1.gz usr/share/man/man7/natter.7.gz
    usr/lib/systemd/system/natterd.service usr/lib/systemd/system/natterd-chat.socket
    usr/lib/systemd/system/natterd-echo.socket usr/lib/systemd/system/natterd-tls.socket
    etc/natter/natterd.conf
    usr/share/doc/natter/copyright usr/share/doc/natter/changelog.Debian.gz
    usr/share/doc/natter/README.md.gz usr/share/doc/natter/natter.md.gz
    usr/share/natter/conformance/cases/04-framing.md
    usr/share/lintian/overrides/natter)
  if(NOT EXISTS ${root}/${f})
    fail("the package has no /${f}")
  endif()
endforeach()
file(STRINGS ${root}/usr/lib/systemd/system/natterd.service exec REGEX "^ExecStart=")
if(NOT exec STREQUAL "ExecStart=/usr/sbin/natterd --config /etc/natter/natterd.conf")
  fail("natterd.service: ${exec}")
endif()
file(SHA256 ${root}/etc/natter/natterd.conf packaged)
file(SHA256 ${SOURCE_DIR}/etc/natterd.conf example)
if(NOT packaged STREQUAL example)
  fail("/etc/natter/natterd.conf is not etc/natterd.conf")
endif()

# 3. The programs, from the unpacked tree.
string(REGEX REPLACE "-[^-]*$" "" upstream "${VERSION}")
run(out ${root}/usr/sbin/natterd --version)
if(NOT out STREQUAL "natterd ${upstream} (natter/1)\n")
  fail("natterd --version says '${out}', not natterd ${upstream} (natter/1)")
endif()
run(out ${root}/usr/bin/natter --version)
if(NOT out STREQUAL "natter ${upstream}\n")
  fail("natter --version says '${out}', not natter ${upstream}")
endif()
run(out ${root}/usr/sbin/natterd --check-config --config ${root}/etc/natter/natterd.conf)
if(NOT out MATCHES "configuration ok")
  fail("natterd --check-config of the packaged config: ${out}")
endif()
run(out ${root}/usr/bin/natter-conform --list)
string(FIND "${out}" "(${root}/usr/share/natter/conformance/cases/04-framing.md:" at)
if(at EQUAL -1)
  fail("natter-conform --list does not list the packaged cases:\n${out}")
endif()
run(out ${root}/usr/bin/natter-bench --help)

# 4. The maintainer scripts, with stubs. WAS_ENABLED=1 makes was-enabled
# say no, as after `systemctl disable natterd`.
set(stubs ${SCRATCH}/stubs)
foreach(tool deb-systemd-helper deb-systemd-invoke systemctl)
  file(WRITE ${stubs}/${tool} "#!/bin/sh
echo \"${tool} $*\" >> \"$STUB_LOG\"
if [ \"$2\" = was-enabled ]; then exit \"\${WAS_ENABLED:-0}\"; fi
exit 0
")
  file(CHMOD ${stubs}/${tool} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
endforeach()
if(IS_DIRECTORY /run/systemd/system)
  set(systemd TRUE)
else()
  set(systemd FALSE)
endif()
set(units "'natterd.service' 'natterd-chat.socket' 'natterd-echo.socket' 'natterd-tls.socket'")
string(REPLACE "'" "" units "${units}")

# Runs maintainer script `script` with `args` (and env settings `envs`)
# and fails unless the stubs were called exactly as `expected` (lines).
function(maintainer_script script args envs expected)
  set(log ${SCRATCH}/stub-${script}.log)
  file(REMOVE ${log})
  separate_arguments(args UNIX_COMMAND "${args}")
  run(out ${CMAKE_COMMAND} -E env PATH=${stubs}:$ENV{PATH} STUB_LOG=${log} ${envs}
      sh ${SCRATCH}/control/${script} ${args})
  set(got "")
  if(EXISTS ${log})
    file(READ ${log} got)
  endif()
  string(JOIN "\n" want ${expected})
  if(NOT want STREQUAL "")
    string(APPEND want "\n")
  endif()
  if(NOT got STREQUAL want)
    fail("${script} ${args} ${envs} called\n${got}not\n${want}")
  endif()
endfunction()

set(start "")
set(restart "")
set(stop "")
set(reload "")
if(systemd)
  set(start "systemctl --system daemon-reload" "deb-systemd-invoke start natterd.service")
  set(restart "systemctl --system daemon-reload" "deb-systemd-invoke restart natterd.service")
  set(stop "deb-systemd-invoke stop ${units}")
  set(reload "systemctl --system daemon-reload")
endif()
set(enabled "deb-systemd-helper unmask natterd.service"
  "deb-systemd-helper --quiet was-enabled natterd.service")
maintainer_script(postinst "configure" "WAS_ENABLED=0"
  "${enabled};deb-systemd-helper enable natterd.service;${start}")
maintainer_script(postinst "configure ${VERSION}" "WAS_ENABLED=1"
  "${enabled};deb-systemd-helper update-state natterd.service;${restart}")
maintainer_script(prerm "remove" "WAS_ENABLED=0" "${stop}")
maintainer_script(prerm "upgrade ${VERSION}" "WAS_ENABLED=0" "")
maintainer_script(postrm "remove" "WAS_ENABLED=0"
  "${reload};deb-systemd-helper mask natterd.service")
maintainer_script(postrm "purge" "WAS_ENABLED=0"
  "deb-systemd-helper purge ${units};deb-systemd-helper unmask natterd.service")

# 5. lintian.
execute_process(COMMAND ${LINTIAN} --fail-on error,warning --display-info ${deb}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  fail("lintian (status ${rc}):\n${out}")
endif()
message(STATUS "deb_package: ${name}, lintian:\n${out}")
