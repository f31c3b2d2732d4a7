# Run by `cmake --install` (packaging/systemd/CMakeLists.txt sets the
# natter_* variables): writes natterd.service for the prefix of this
# install and installs it with the socket units.

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
