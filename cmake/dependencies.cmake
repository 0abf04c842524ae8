# Finds the libraries danlu builds against: the system's first (Debian's
# -dev packages), then the offline kit that scripts/stage-gpu-kit.sh gathers
# for machines without them (DANLU_KIT, e.g. a bare CUDA image). Each
# dependency says where it came from, so a configure log shows which pieces
# of the kit were used.
set(DANLU_KIT "" CACHE PATH
    "folder made by scripts/stage-gpu-kit.sh, used for each dependency the system lacks")

# danlu_find_package(<name> [version] [CONFIG]): the system's package, else
# the kit's (<kit>/prefix/share/cmake/<name>/), else a configure error
# naming the Debian package and the kit.
macro(danlu_find_package name debian_package)
  find_package(${name} ${ARGN} QUIET)
  if(${name}_FOUND)
    message(STATUS "danlu: ${name} from the system (${${name}_DIR})")
  elseif(DANLU_KIT)
    find_package(${name} ${ARGN} QUIET PATHS "${DANLU_KIT}/prefix" NO_DEFAULT_PATH)
    if(${name}_FOUND)
      message(STATUS "danlu: ${name} from the kit (${${name}_DIR})")
    endif()
  endif()
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "danlu: ${name} not found: apt-get install ${debian_package} "
                        "(scripts/setup.sh), or pass -DDANLU_KIT=<folder made by "
                        "scripts/stage-gpu-kit.sh>")
  endif()
endmacro()

# zlib: the system's headers and library, else the kit's headers with the
# system's runtime library (libz.so.1, present wherever Python is; a machine
# without the -dev package has no libz.so link).
macro(danlu_find_zlib)
  find_package(ZLIB QUIET)
  if(ZLIB_FOUND)
    message(STATUS "danlu: zlib from the system (${ZLIB_INCLUDE_DIRS})")
  elseif(DANLU_KIT AND EXISTS "${DANLU_KIT}/prefix/include/zlib.h")
    set(ZLIB_INCLUDE_DIR "${DANLU_KIT}/prefix/include" CACHE PATH "zlib.h's folder" FORCE)
    if(NOT ZLIB_LIBRARY)
      find_library(ZLIB_LIBRARY NAMES z libz.so.1)
    endif()
    find_package(ZLIB QUIET)
    if(ZLIB_FOUND)
      message(STATUS "danlu: zlib headers from the kit (${ZLIB_INCLUDE_DIR}), library ${ZLIB_LIBRARY}")
    endif()
  endif()
  if(NOT ZLIB_FOUND)
    message(FATAL_ERROR "danlu: zlib not found: apt-get install zlib1g-dev (scripts/setup.sh), or "
                        "pass -DDANLU_KIT=<kit folder> and -DZLIB_LIBRARY=<path of libz.so.1>")
  endif()
endmacro()

# GoogleTest: the system's, else built from the kit's sources (the same
# GTest::gtest and GTest::gtest_main targets).
macro(danlu_find_gtest)
  find_package(GTest QUIET)
  if(GTest_FOUND)
    message(STATUS "danlu: GoogleTest from the system (${GTest_DIR})")
  elseif(DANLU_KIT AND EXISTS "${DANLU_KIT}/googletest/CMakeLists.txt")
    set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    add_subdirectory("${DANLU_KIT}/googletest" "${PROJECT_BINARY_DIR}/googletest" EXCLUDE_FROM_ALL)
    message(STATUS "danlu: GoogleTest built from the kit (${DANLU_KIT}/googletest)")
  else()
    message(FATAL_ERROR "danlu: GoogleTest not found: apt-get install libgtest-dev "
                        "(scripts/setup.sh), or pass -DDANLU_KIT=<folder made by "
                        "scripts/stage-gpu-kit.sh>")
  endif()
endmacro()
