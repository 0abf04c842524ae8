# How kernel sources are compiled in the emulated build (docs/emulation.md):
# - DANLU_EMULATOR_CHECKS: the shared-memory race and uninitialised-read
#   detectors. Kernel sources get GCC's thread-sanitizer instrumentation,
#   whose calls kernels/emulated/tsan_hooks.cpp answers (no sanitizer runtime
#   is linked), and __shared__ variables become thread_locals so that the
#   hooks know them by address (kernels/emulated/qualifiers.h). Off under
#   DANLU_SANITIZE: GCC cannot combine the thread and address sanitizers, and
#   AddressSanitizer puts redzones only around plain statics.
# - DANLU_EMULATOR_FMA: multiply-adds contracted into fused ones, as nvcc
#   does by default (-fmad=true), where the host CPU has FMA instructions.
include_guard(GLOBAL)
include(CheckCXXSourceRuns)

if(DANLU_SANITIZE)
  set(danlu_emulator_defaults OFF)
else()
  set(danlu_emulator_defaults ON)
endif()
option(DANLU_EMULATOR_CHECKS "Emulated build: detect shared-memory races and uninitialised shared reads"
       ${danlu_emulator_defaults})
option(DANLU_EMULATOR_FMA "Emulated build: contract multiply-adds in kernels into FMA instructions, as nvcc does"
       ${danlu_emulator_defaults})
if(DANLU_EMULATOR_CHECKS AND DANLU_SANITIZE)
  message(FATAL_ERROR "DANLU_EMULATOR_CHECKS needs the thread sanitizer's instrumentation, which "
                      "GCC cannot combine with DANLU_SANITIZE's address sanitizer")
endif()
if(DANLU_EMULATOR_CHECKS AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  message(FATAL_ERROR "DANLU_EMULATOR_CHECKS relies on GCC's -fsanitize=thread instrumentation; "
                      "configure with -DDANLU_EMULATOR_CHECKS=OFF for ${CMAKE_CXX_COMPILER_ID}")
endif()

set(DANLU_EMULATOR_KERNEL_OPTIONS "")
if(DANLU_EMULATOR_CHECKS)
  # Function entry/exit hooks would only cost time: the detectors need accesses.
  # Only kernel sources see the definition, so switching the detectors on or
  # off recompiles nothing else.
  list(APPEND DANLU_EMULATOR_KERNEL_OPTIONS -DDANLU_EMULATOR_CHECKS -fsanitize=thread
       --param=tsan-instrument-func-entry-exit=0)
endif()
if(DANLU_EMULATOR_FMA)
  # Does this CPU execute FMA instructions? (The build runs where it is built.)
  set(CMAKE_REQUIRED_FLAGS "-mfma")
  check_cxx_source_runs([[
    #include <immintrin.h>
    int main() {
      if (!__builtin_cpu_supports("fma")) return 1;
      volatile float a = 1.0f + 0x1p-23f, b = 1.0f - 0x1p-23f, c = -1.0f;
      return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c))) == -0x1p-46f ? 0 : 1;
    }]] DANLU_HOST_HAS_FMA)
  unset(CMAKE_REQUIRED_FLAGS)
  if(DANLU_HOST_HAS_FMA)
    list(APPEND DANLU_EMULATOR_KERNEL_OPTIONS -mfma -ffp-contract=fast)
  else()
    message(STATUS "danlu: this CPU has no FMA instructions: emulated kernels round every multiply-add")
  endif()
endif()
message(STATUS "danlu: emulated kernels compiled with: ${DANLU_EMULATOR_KERNEL_OPTIONS}")

# Kernel sources among the arguments (every .cu file, and other files that
# define a __global__ function) get the options above.
function(danlu_emulated_kernel_sources)
  foreach(src ${ARGN})
    set(kernels ON)
    if(NOT src MATCHES "\\.cu$")
      file(STRINGS ${src} kernels REGEX "__global__" LIMIT_COUNT 1)
    endif()
    if(kernels)
      set_property(SOURCE ${src} APPEND PROPERTY COMPILE_OPTIONS ${DANLU_EMULATOR_KERNEL_OPTIONS})
    endif()
  endforeach()
endfunction()
