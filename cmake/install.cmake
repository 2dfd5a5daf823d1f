include(CMakePackageConfigHelpers)

# Where qkitConfig.cmake goes; vcpkg's port sets share/qkit, its convention.
set(QKIT_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/qkit" CACHE STRING
    "Install folder of qkit's CMake package files, relative to the prefix")

install(TARGETS qkit EXPORT qkitTargets)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/qkit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT qkitTargets NAMESPACE qkit:: DESTINATION ${QKIT_INSTALL_CMAKEDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/qkitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/qkitConfig.cmake
  INSTALL_DESTINATION ${QKIT_INSTALL_CMAKEDIR})
# A header-only library: the same package serves every architecture.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/qkitConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/qkitConfig.cmake ${PROJECT_BINARY_DIR}/qkitConfigVersion.cmake
  DESTINATION ${QKIT_INSTALL_CMAKEDIR})

configure_file(${PROJECT_SOURCE_DIR}/cmake/qkit.pc.in ${PROJECT_BINARY_DIR}/qkit.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/qkit.pc DESTINATION ${CMAKE_INSTALL_DATADIR}/pkgconfig)
