# ctest systemd_units: natterd's component installed twice into SCRATCH.
# 1. Under a prefix of its own: the units name the natterd installed with
#    them, and `systemd-analyze verify` finds nothing to say about them
#    (--man=no: the pages are tests/man's; Documentation= names them).
# 2. With --prefix /usr into a DESTDIR, as a Debian package installs:
#    ExecStart= is /usr/sbin/natterd --config /etc/natter/natterd.conf.
# Each time the config file the service names is installed with it.
# Each socket unit passes its socket to natterd.service under the name
# natterd takes for that service (spec 13.1, N-SHUT-11).

function(fail)
  string(JOIN "" text ${ARGN})
  message(FATAL_ERROR "systemd_units: ${text}")
endfunction()

# Installs natterd's component, with the arguments given.
function(install_natterd)
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --component natterd ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(rc)
    fail("cmake --install ${ARGN} failed: ${out}")
  endif()
endfunction()

# The value of `key` in unit file `file`; fails unless it is there once.
function(unit_value out file key)
  file(STRINGS ${file} lines REGEX "^${key}=")
  list(LENGTH lines n)
  if(NOT n EQUAL 1)
    fail("${file}: ${n} lines of ${key}=, not one")
  endif()
  string(REPLACE "${key}=" "" value "${lines}")
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${SCRATCH})
set(prefix ${SCRATCH}/prefix)
install_natterd(--prefix ${prefix})
set(unitdir ${prefix}/lib/systemd/system)
set(sockets natterd-chat.socket natterd-echo.socket natterd-tls.socket)
set(units ${unitdir}/natterd.service)
foreach(s IN LISTS sockets)
  list(APPEND units ${unitdir}/${s})
endforeach()
foreach(u IN LISTS units)
  if(NOT EXISTS ${u})
    fail("cmake --install did not install ${u}")
  endif()
endforeach()

unit_value(exec ${unitdir}/natterd.service ExecStart)
if(NOT exec STREQUAL "${prefix}/sbin/natterd --config ${prefix}/etc/natter/natterd.conf")
  fail("natterd.service runs '${exec}', not the natterd installed under ${prefix}")
endif()
foreach(f sbin/natterd etc/natter/natterd.conf)
  if(NOT EXISTS ${prefix}/${f})
    fail("no ${f} in ${prefix}")
  endif()
endforeach()
unit_value(type ${unitdir}/natterd.service Type)
if(NOT type STREQUAL "notify")
  fail("natterd.service is Type=${type}, not notify")
endif()

foreach(s chat echo tls)
  unit_value(name ${unitdir}/natterd-${s}.socket FileDescriptorName)
  unit_value(service ${unitdir}/natterd-${s}.socket Service)
  if(NOT name STREQUAL s OR NOT service STREQUAL "natterd.service")
    fail("natterd-${s}.socket passes its socket as '${name}' to ${service}")
  endif()
endforeach()

execute_process(COMMAND ${SYSTEMD_ANALYZE} verify --man=no ${units}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc OR NOT out STREQUAL "")
  fail("systemd-analyze verify (status ${rc}):\n${out}")
endif()

set(ENV{DESTDIR} ${SCRATCH}/destdir)
install_natterd(--prefix /usr)
unset(ENV{DESTDIR})
unit_value(exec ${SCRATCH}/destdir/usr/lib/systemd/system/natterd.service ExecStart)
if(NOT exec STREQUAL "/usr/sbin/natterd --config /etc/natter/natterd.conf")
  fail("with --prefix /usr natterd.service runs '${exec}'")
endif()
foreach(f usr/sbin/natterd etc/natter/natterd.conf)
  if(NOT EXISTS ${SCRATCH}/destdir/${f})
    fail("DESTDIR: no /${f} in ${SCRATCH}/destdir")
  endif()
endforeach()
message(STATUS "systemd_units: ${unitdir} verified; /usr: ${exec}")
