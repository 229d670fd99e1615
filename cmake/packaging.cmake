# Installing moxing and its Debian package.
#   cmake --install build/release --prefix /usr/local    the binary, man pages, docs
#   cpack -G DEB (in build/release)                      plus the systemd service:
#     /lib/systemd/system/moxing.service, /etc/moxing/serve.toml, /var/lib/moxing
# The service files have absolute paths, so they are a component of their own that only the
# package installs: `make install PREFIX=~/.local` never writes to /etc.
include(GNUInstallDirs)

install(TARGETS moxing RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT moxing)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT moxing)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT moxing FILES_MATCHING PATTERN "*.md")

# Man pages, made from --help by help2man. Only where help2man is (make run's build-only
# setup has none: no pages, no error). Part of `all` for the package test; `make install`
# and `make package`, which build the binary alone, build the moxing_man target too.
set(MOXING_MAN_DIR ${CMAKE_BINARY_DIR}/man)
find_program(MOXING_HELP2MAN help2man)
if(MOXING_HELP2MAN)
  set(man_in_all ALL)
  if(MOXING_SANITIZE)  # no package of a sanitized build
    set(man_in_all "")
  endif()
  add_custom_command(OUTPUT ${MOXING_MAN_DIR}/moxing.1.gz
    COMMAND ${CMAKE_COMMAND} -E env HELP2MAN=${MOXING_HELP2MAN}
            bash ${CMAKE_SOURCE_DIR}/packaging/make_man.sh $<TARGET_FILE:moxing> ${PROJECT_VERSION} ${MOXING_MAN_DIR}
    DEPENDS moxing ${CMAKE_SOURCE_DIR}/packaging/make_man.sh
    COMMENT "Man pages from --help")
  add_custom_target(moxing_man ${man_in_all} DEPENDS ${MOXING_MAN_DIR}/moxing.1.gz)
  install(CODE "
    if(NOT EXISTS \"${MOXING_MAN_DIR}/moxing.1.gz\")
      message(FATAL_ERROR \"no man pages in ${MOXING_MAN_DIR}: build the moxing_man target first (make install does)\")
    endif()" COMPONENT moxing)
  install(DIRECTORY ${MOXING_MAN_DIR}/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT moxing
          FILES_MATCHING PATTERN "*.1.gz")
else()
  message(STATUS "help2man not found: no man pages (scripts/setup.sh installs it)")
  add_custom_target(moxing_man COMMAND ${CMAKE_COMMAND} -E echo "help2man not found: no man pages")
endif()

# The service. Paths are Debian's (bookworm still ships units in /lib).
install(FILES packaging/moxing.service DESTINATION /lib/systemd/system COMPONENT service EXCLUDE_FROM_ALL)
install(FILES packaging/serve.toml DESTINATION /etc/moxing COMPONENT service EXCLUDE_FROM_ALL)
install(DIRECTORY DESTINATION /var/lib/moxing/models COMPONENT service EXCLUDE_FROM_ALL)

# One .deb holding both components.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME moxing)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(MOXING_DEB_MAINTAINER "moxing maintainers <moxing@localhost>" CACHE STRING "Maintainer field of the .deb")
set(CPACK_PACKAGE_CONTACT "${MOXING_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "LLM inference on the CPU with an OpenAI-compatible HTTP server")
set(CPACK_PACKAGE_DESCRIPTION "moxing runs large language models from GGUF files on this machine's CPU:
generation, benchmarks, perplexity, quantization and model downloads from the
Hugging Face hub on the command line, and `moxing serve`, an HTTP server with the
OpenAI, Anthropic and Ollama APIs, run as the systemd service moxing.service.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_COMPONENTS_ALL moxing service)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # moxing_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Libraries from dpkg-shlibdeps (dpkg-dev); adduser for the postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")  # HTTPS to the hub
find_program(MOXING_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(NOT MOXING_DPKG_SHLIBDEPS)
  message(STATUS "dpkg-shlibdeps not found (dpkg-dev): a .deb built here would not depend on its libraries")
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/packaging/debian/conffiles
  ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
  ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
  ${CMAKE_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

if(MOXING_TESTS AND NOT MOXING_SANITIZE)  # the package is the release build's
  # Builds the .deb and checks what is in it and the unit; needs dpkg-deb (every Debian has it).
  add_test(NAME packaging.deb
    COMMAND bash ${CMAKE_SOURCE_DIR}/tests/packaging/check_package.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(packaging.deb PROPERTIES TIMEOUT 120 LABELS packaging)
endif()
