# Flags for qkit's own programs (tests, benchmarks, examples); consumers of
# the INTERFACE target get none of these.
add_library(qkit_strict INTERFACE)
target_compile_options(qkit_strict INTERFACE -Wall -Wextra -Werror -Wno-psabi)
if(QKIT_SANITIZE)
  # GCC documents that ASan instrumentation causes false -Wmaybe-uninitialized
  # reports (seen in libstdc++'s <regex> under Catch2); the Release build keeps it.
  target_compile_options(qkit_strict INTERFACE -fsanitize=address,undefined -fno-sanitize-recover=all
                                               -fno-omit-frame-pointer
                                               $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
  target_link_options(qkit_strict INTERFACE -fsanitize=address,undefined)
endif()

# Kernels compiled once per program (see include/qkit/kernels/tables.hpp):
# qkit's programs define QKIT_KERNELS_EXTERN and link this one object.
add_library(qkit_kernels STATIC ${PROJECT_SOURCE_DIR}/cmake/kernels_instance.cpp)
target_link_libraries(qkit_kernels PUBLIC qkit::qkit qkit_strict)
target_compile_definitions(qkit_kernels PUBLIC QKIT_KERNELS_EXTERN)
