# vcpkg overlay port for qkit (header-only).
#   vcpkg install qkit --overlay-ports=packaging/vcpkg/ports
# Sources: $QKIT_SOURCE_DIR when set (a local checkout), else the release tag.
if(DEFINED ENV{QKIT_SOURCE_DIR})
  set(SOURCE_PATH "$ENV{QKIT_SOURCE_DIR}")
else()
  vcpkg_from_github(
    OUT_SOURCE_PATH SOURCE_PATH
    REPO qkit-dev/qkit
    REF "v${VERSION}"
    SHA512 0
    HEAD_REF main)
endif()

# The same options as the Conan recipe: packaging/install-options.txt.
file(STRINGS "${SOURCE_PATH}/packaging/install-options.txt" QKIT_INSTALL_OPTIONS)
vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
  FEATURES
    tests QKIT_BUILD_TESTS
    benchmarks QKIT_BUILD_BENCHMARKS)

vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS ${QKIT_INSTALL_OPTIONS} ${FEATURE_OPTIONS} -DQKIT_INSTALL_CMAKEDIR=share/qkit)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME qkit CONFIG_PATH share/qkit)
vcpkg_fixup_pkgconfig()

# Header-only: nothing differs between debug and release.
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
