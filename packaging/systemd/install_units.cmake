# Run by `cmake --install` (packaging/systemd/CMakeLists.txt sets the
# natter_* variables): writes natterd.service for the prefix of this
# install and installs it with the socket units and the config file it
# reads.

# A directory of GNUInstallDirs made absolute under the install prefix, as
# GNUInstallDirs does: the configuration of /usr and of / is in /etc.
function(natter_full_dir out dir)
  if(IS_ABSOLUTE "${dir}")
    set(full "${dir}")
  elseif(dir STREQUAL "etc" AND CMAKE_INSTALL_PREFIX MATCHES "^/(usr/?)?$")
    set(full "/etc")
  else()
    set(full "${CMAKE_INSTALL_PREFIX}/${dir}")
  endif()
  set(${out} "${full}" PARENT_SCOPE)
endfunction()

natter_full_dir(sbindir "${natter_sbindir}")
natter_full_dir(sysconfdir "${natter_sysconfdir}")
natter_full_dir(unitdir "${natter_unitdir}")
set(NATTERD "${sbindir}/natterd")
set(NATTERD_CONF "${sysconfdir}/natter/natterd.conf")
configure_file("${natter_units_source}/natterd.service.in"
  "${natter_units_binary}/natterd.service" @ONLY)
file(INSTALL
  "${natter_units_binary}/natterd.service"
  "${natter_units_source}/natterd-chat.socket"
  "${natter_units_source}/natterd-echo.socket"
  "${natter_units_source}/natterd-tls.socket"
  DESTINATION "${unitdir}")

# The example config changes nothing (every line is a comment), so natterd
# runs with its defaults. One already there is the administrator's: it is
# kept. (The .deb marks it a conffile, which dpkg keeps likewise.)
set(conf "$ENV{DESTDIR}${NATTERD_CONF}")
if(EXISTS "${conf}")
  message(STATUS "Keeping: ${conf}")
else()
  file(INSTALL "${natter_config}" DESTINATION "${sysconfdir}/natter"
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()
