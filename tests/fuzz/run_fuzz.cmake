# Generates the seed corpus and runs fuzz_gguf for SECONDS; fails on any
# finding (libFuzzer exits non-zero and leaves crash-*/leak-*/timeout-*
# files in WORK/artifacts).
file(REMOVE_RECURSE ${WORK}/seeds ${WORK}/artifacts)
file(MAKE_DIRECTORY ${WORK}/seeds ${WORK}/corpus ${WORK}/artifacts)
execute_process(COMMAND ${SEEDER} ${WORK}/seeds ${GOLDEN} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fuzz_gguf_seeds failed (${rc})")
endif()
set(dirs ${WORK}/corpus ${WORK}/seeds)
if(EXISTS ${REGRESSIONS})
  list(APPEND dirs ${REGRESSIONS})
endif()
execute_process(COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048
                        -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/ ${dirs}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found ${WORK}/artifacts/*)
  message(FATAL_ERROR "fuzz_gguf found a problem (exit ${rc}): ${found}")
endif()
