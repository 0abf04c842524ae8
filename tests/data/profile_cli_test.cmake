# cli.profile: `danlu profile` on a tiny config. Without a usable GPU (or in a
# build without CUDA) it measures nothing: exit status 3, nothing on stdout
# and one line on stderr saying why. With one it prints the roofline and a
# table row per direction of the chosen op. A bad --ops is an error (1) on
# any machine, reported before anything else.
# Run as: cmake -DDANLU=<danlu> -DCONFIG=<profile_tiny.json> -P profile_cli_test.cmake
execute_process(COMMAND ${DANLU} profile --ops act --shapes ${CONFIG} --iters 1
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 3)
  if(NOT out STREQUAL "")
    message(FATAL_ERROR "nothing measured, yet stdout is not empty: ${out}")
  endif()
  if(NOT err MATCHES "^danlu profile: [^\n]+: kernel timings need a GPU\n$")
    message(FATAL_ERROR "expected one line saying why nothing was measured, got: ${err}")
  endif()
  if(NOT err MATCHES "no CUDA backend|CUDA device")
    message(FATAL_ERROR "the line does not say what is missing: ${err}")
  endif()
elseif(rc EQUAL 0)
  if(NOT out MATCHES "roofline: bandwidth [0-9.]+ GB/s" OR NOT out MATCHES "\nact +forward " OR
     NOT out MATCHES "\nact +backward ")
    message(FATAL_ERROR "measured, but the output lacks the roofline or the act rows: ${out}")
  endif()
else()
  message(FATAL_ERROR "danlu profile exited with ${rc}: ${err}")
endif()

execute_process(COMMAND ${DANLU} profile --ops conv,relu --shapes ${CONFIG}
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "unknown op \"relu\"")
  message(FATAL_ERROR "a bad --ops should fail with 1 naming it, got ${rc}: ${err}")
endif()

# A conv variant that does not exist is an error (1) on any machine too.
execute_process(COMMAND ${DANLU} profile --ops conv --conv-variant 9 --shapes ${CONFIG}
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "danlu: error: --conv-variant 9: expected auto, all or a rung of [0-9, ]+\n$")
  message(FATAL_ERROR "a bad --conv-variant should fail with 1 in one line, got ${rc}: ${err}")
endif()

# --roofline: a file name that is not .png or .svg, or ops without FLOPs to
# place, are errors (1) before anything is measured.
execute_process(COMMAND ${DANLU} profile --ops conv --roofline out.jpg --shapes ${CONFIG}
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "danlu: error: --roofline out.jpg: expected a .png or .svg file name\n$")
  message(FATAL_ERROR "a bad --roofline name should fail with 1 in one line, got ${rc}: ${err}")
endif()
execute_process(COMMAND ${DANLU} profile --ops bn --roofline out.png --shapes ${CONFIG}
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "danlu: error: --roofline places kernels by their FLOPs: add conv or gemm to --ops\n$")
  message(FATAL_ERROR "--roofline without conv or gemm should fail with 1 in one line, got ${rc}: ${err}")
endif()
