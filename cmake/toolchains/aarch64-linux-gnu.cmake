# Cross-build qkit's tests for aarch64 with Debian's g++-aarch64-linux-gnu and
# run them under qemu-user (ctest uses CMAKE_CROSSCOMPILING_EMULATOR).
#   cmake -S . -B build-arm -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
# clang 14 cannot do Highway's runtime dispatch on Arm; use g++.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu)

set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Highway and Catch2 are header-only and arch-independent, but live in the
# host's /usr/include beside x86-only headers. Expose just those two folders.
set(_qkit_xinclude "${CMAKE_CURRENT_BINARY_DIR}/qkit-cross-include")
file(MAKE_DIRECTORY "${_qkit_xinclude}")
foreach(_dir hwy catch2)
  if(NOT EXISTS "${_qkit_xinclude}/${_dir}" AND EXISTS "/usr/include/${_dir}")
    file(CREATE_LINK "/usr/include/${_dir}" "${_qkit_xinclude}/${_dir}" SYMBOLIC)
  endif()
endforeach()
set(QKIT_HWY_INCLUDE_DIR "${_qkit_xinclude}" CACHE PATH "Highway headers (cross)")
set(QKIT_CATCH2_INCLUDE_DIR "${_qkit_xinclude}" CACHE PATH "Catch2 headers (cross)")
