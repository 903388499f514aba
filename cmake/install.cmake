# cmake --install BUILD --prefix P puts in place: bin/pixloc, lib/libpixloc.so.0 (and its
# development link), include/pixloc/pixloc.h, lib/pkgconfig/pixloc.pc, lib/cmake/pixloc/
# (pixlocConfig.cmake, its version file and the target pixloc::pixloc), the man page made from
# --help by help2man, and the bash completion. cpack -G DEB (run in BUILD) packs the same
# tree as pixloc_VERSION_ARCH.deb for /usr.
include(CMakePackageConfigHelpers)

install(TARGETS pixloc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS pixloc_lib EXPORT pixlocTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_SOURCE_DIR}/include/api/pixloc/pixloc.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pixloc)

# pkg-config: paths relative to the .pc file's own folder (${pcfiledir}), so an unpacked .deb
# or a moved prefix works as well as the place it was installed to.
file(RELATIVE_PATH PX_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" PX_PC_TO_PREFIX "${PX_PC_TO_PREFIX}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/pixloc.pc.in ${CMAKE_BINARY_DIR}/pixloc.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/pixloc.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# CMake package: find_package(pixloc 0.1) and target_link_libraries(app PRIVATE pixloc::pixloc).
set(PX_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/pixloc)
install(EXPORT pixlocTargets NAMESPACE pixloc:: DESTINATION ${PX_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/pixlocConfig.cmake.in ${CMAKE_BINARY_DIR}/pixlocConfig.cmake
                              INSTALL_DESTINATION ${PX_CMAKE_DIR})
# 0.x: a minor version may change the API, so only the same major.minor is compatible.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/pixlocConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/pixlocConfig.cmake ${CMAKE_BINARY_DIR}/pixlocConfigVersion.cmake
        DESTINATION ${PX_CMAKE_DIR})

# The man page, from `pixloc --help` and each command's --help (cmake/man_page.sh), so it says
# what the binary says. Without help2man (tools/setup.sh installs it) there is none.
find_program(HELP2MAN help2man)
if(HELP2MAN)
  add_custom_command(
    OUTPUT ${CMAKE_BINARY_DIR}/pixloc.1.gz
    COMMAND bash ${CMAKE_SOURCE_DIR}/cmake/man_page.sh $<TARGET_FILE:pixloc> ${CMAKE_BINARY_DIR}/pixloc.1
    COMMAND gzip -9nf ${CMAKE_BINARY_DIR}/pixloc.1
    DEPENDS pixloc ${CMAKE_SOURCE_DIR}/cmake/man_page.sh
    COMMENT "Writing the man page (help2man)")
  add_custom_target(pixloc_man ALL DEPENDS ${CMAKE_BINARY_DIR}/pixloc.1.gz)
  install(FILES ${CMAKE_BINARY_DIR}/pixloc.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(STATUS "help2man not found: no man page (apt-get install help2man)")
endif()

# bash completion: the script asks pixloc for its commands and flags (their --help).
install(FILES ${CMAKE_SOURCE_DIR}/tools/bash-completion/pixloc DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pixloc)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "pixloc maintainers <pixloc@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "find the one bright pixel in a noisy image, with a heatmap CNN on OpenCL")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "pixloc trains and runs a fully convolutional heatmap-regression CNN through OpenCL\n"
    " (kernels compiled at run time, on a GPU or on the CPU through PoCL). The package holds\n"
    " the pixloc command, libpixloc (a C library for inference) with its header, pkg-config\n"
    " file and CMake package, the man page and bash completion.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
# Library dependencies from dpkg-shlibdeps; an OpenCL driver is not a library the binary links.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "pocl-opencl-icd | opencl-icd")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON) # shlibs file + ldconfig trigger for libpixloc.so.0
include(CPack)
