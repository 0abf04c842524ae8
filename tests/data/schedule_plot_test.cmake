# cli.schedule_plot: `danlu schedule --plot` writes a PNG file: the PNG
# signature, then an IHDR chunk of the requested size, and an IEND chunk.
# Run as: cmake -DDANLU=<danlu> -DSPEC=<spec.json> -DOUT=<file.png> -P schedule_plot_test.cmake
file(REMOVE ${OUT})
execute_process(COMMAND ${DANLU} schedule ${SPEC} --steps 40 --plot ${OUT} --size 320x160
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "danlu schedule --plot failed (${rc}): ${err}")
endif()
# Signature (8 bytes), IHDR length and type (8), width and height (8).
file(READ ${OUT} head LIMIT 24 HEX)
set(expected "89504e470d0a1a0a" "0000000d49484452" "00000140000000a0")
string(CONCAT expected ${expected})
if(NOT head STREQUAL expected)
  message(FATAL_ERROR "${OUT} does not start like a 320x160 PNG: ${head}")
endif()
file(SIZE ${OUT} size)
math(EXPR tail_offset "${size} - 12")
file(READ ${OUT} tail OFFSET ${tail_offset} HEX)
if(NOT tail STREQUAL "0000000049454e44ae426082")
  message(FATAL_ERROR "${OUT} does not end with an IEND chunk: ${tail}")
endif()
