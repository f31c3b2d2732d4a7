# Run by CPack (CPACK_PRE_BUILD_SCRIPTS) in the staging tree of natter's
# .deb, after `cmake --install` has filled it: what dh_installman,
# dh_installchangelogs, dh_lintian and dh_compress would do. The manual
# pages and the longer documents are gzipped (-n: no name or time stamp, so the package is the same
# from one build to the next), the Debian changelog is written for this
# version and the lintian overrides are added.
set(root "${CPACK_TEMPORARY_INSTALL_DIRECTORY}")
set(usr "${root}/usr")
if(NOT IS_DIRECTORY "${usr}/share/man")
  message(FATAL_ERROR "debianize: no ${usr}/share/man in CPack's staging tree")
endif()

function(gzip_file file)
  execute_process(COMMAND gzip -9nf "${file}" RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "debianize: gzip ${file} failed")
  endif()
endfunction()

file(GLOB_RECURSE pages "${usr}/share/man/*")
foreach(page IN LISTS pages)
  if(NOT page MATCHES "\\.gz$")
    gzip_file("${page}")
  endif()
endforeach()

# dh_compress's rule for the documentation: gzipped when over 4 kB, the
# copyright never.
file(GLOB docs "${usr}/share/doc/natter/*")
foreach(doc IN LISTS docs)
  file(SIZE "${doc}" size)
  if(size GREATER 4096 AND NOT doc MATCHES "/copyright$|\\.gz$")
    gzip_file("${doc}")
  endif()
endforeach()

# The date of the entry: SOURCE_DATE_EPOCH when set (string(TIMESTAMP)
# honours it), else now.
string(TIMESTAMP NATTER_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(PROJECT_VERSION "${CPACK_PACKAGE_VERSION}")
set(NATTER_DEB_VERSION "${CPACK_NATTER_DEB_VERSION}")
set(doc "${usr}/share/doc/natter")
configure_file("${CPACK_NATTER_SOURCE_DIR}/changelog.in" "${doc}/changelog.Debian" @ONLY)
gzip_file("${doc}/changelog.Debian")
# file(COPY_FILE), not file(INSTALL), which would add $ENV{DESTDIR} again.
file(MAKE_DIRECTORY "${usr}/share/lintian/overrides")
file(COPY_FILE "${CPACK_NATTER_SOURCE_DIR}/lintian-overrides"
  "${usr}/share/lintian/overrides/natter")
