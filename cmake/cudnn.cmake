# cuDNN, the comparison backend (kernels/cuda/cudnn.cu): found in the CUDA
# toolkit's folders or under CUDNN_ROOT (e.g. the nvidia-cudnn pip wheel's
# folder, which holds only libcudnn.so.9), and used only when its headers are
# cuDNN 9 or later, the API cudnn.cu is written against. Sets
# DANLU_WITH_CUDNN, or DANLU_CUDNN_NOTE saying why it is left out; configure
# prints either, and `danlu devices` repeats it.
function(danlu_find_cudnn)
  set(DANLU_WITH_CUDNN OFF PARENT_SCOPE)
  if(DANLU_EMULATED)
    set(DANLU_CUDNN_NOTE "kernels are emulated" PARENT_SCOPE)
    return()
  endif()
  find_library(DANLU_CUDNN_LIBRARY NAMES cudnn libcudnn.so.9
               HINTS ENV CUDNN_ROOT ${CUDAToolkit_LIBRARY_DIR} PATH_SUFFIXES lib lib64)
  find_path(DANLU_CUDNN_INCLUDE_DIR cudnn.h HINTS ENV CUDNN_ROOT ${CUDAToolkit_INCLUDE_DIRS}
            PATH_SUFFIXES include)
  if(NOT DANLU_CUDNN_LIBRARY OR NOT DANLU_CUDNN_INCLUDE_DIR)
    set(DANLU_CUDNN_NOTE "CMake found no libcudnn and cudnn.h (set CUDNN_ROOT to cuDNN's folder)"
        PARENT_SCOPE)
    return()
  endif()
  # cuDNN 8 and 9 give their version in cudnn_version.h, older ones in cudnn.h.
  set(major "")
  foreach(header cudnn_version.h cudnn.h)
    if(major STREQUAL "" AND EXISTS "${DANLU_CUDNN_INCLUDE_DIR}/${header}")
      file(STRINGS "${DANLU_CUDNN_INCLUDE_DIR}/${header}" line REGEX "^#define CUDNN_MAJOR +[0-9]+")
      string(REGEX MATCH "[0-9]+" major "${line}")
    endif()
  endforeach()
  if(major STREQUAL "" OR major LESS 9)
    set(DANLU_CUDNN_NOTE "cudnn.h in ${DANLU_CUDNN_INCLUDE_DIR} is cuDNN ${major}; the comparison backend needs cuDNN 9 or later"
        PARENT_SCOPE)
    return()
  endif()
  set(DANLU_WITH_CUDNN ON PARENT_SCOPE)
endfunction()
