# NCCL, the GPU transport of data-parallel training
# (train/nccl_communicator.cpp): found in the CUDA toolkit's folders or
# under NCCL_ROOT (e.g. the nvidia-nccl-cu13 pip wheel's folder, which holds
# only libnccl.so.2). The emulated build uses kernels/emulated/nccl.cpp
# instead. Sets DANLU_WITH_NCCL, and DANLU_NCCL_LIBRARY and
# DANLU_NCCL_INCLUDE_DIR for a real build; configure says which.
function(danlu_find_nccl)
  set(DANLU_WITH_NCCL OFF PARENT_SCOPE)
  if(NOT DANLU_NCCL)
    message(STATUS "danlu: DANLU_NCCL=OFF, GPU gradients of data-parallel runs go through MPI")
    return()
  endif()
  if(DANLU_EMULATED)
    set(DANLU_WITH_NCCL ON PARENT_SCOPE)
    message(STATUS "danlu: NCCL ON, emulated (kernels/emulated/nccl.cpp: ranks are threads)")
    return()
  endif()
  find_library(DANLU_NCCL_LIBRARY NAMES nccl libnccl.so.2
               HINTS ENV NCCL_ROOT ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}
               PATH_SUFFIXES lib lib64)
  find_path(DANLU_NCCL_INCLUDE_DIR nccl.h HINTS ENV NCCL_ROOT ${CUDAToolkit_INCLUDE_DIRS}
            PATH_SUFFIXES include)
  if(NOT DANLU_NCCL_LIBRARY OR NOT DANLU_NCCL_INCLUDE_DIR)
    message(STATUS "danlu: NCCL not found (set NCCL_ROOT to NCCL's folder, e.g. pip's nvidia/nccl), "
                   "GPU gradients of data-parallel runs go through MPI")
    return()
  endif()
  set(DANLU_WITH_NCCL ON PARENT_SCOPE)
  message(STATUS "danlu: NCCL ON (${DANLU_NCCL_LIBRARY})")
endfunction()
