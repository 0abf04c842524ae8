# Finds the libraries danlu builds against: the system's first (Debian's
# -dev packages), then the offline kit that scripts/stage-gpu-kit.sh gathers
# for machines without them (DANLU_KIT, e.g. a bare CUDA image). Each
# dependency says where it came from, so a configure log shows which pieces
# of the kit were used.
set(DANLU_KIT "" CACHE PATH
    "folder made by scripts/stage-gpu-kit.sh, used for each dependency the system lacks")

# Sets <out> to "the kit" when <path> lies inside DANLU_KIT, else "the system"
# (a reconfigure finds either through the cache, so the path decides).
function(danlu_origin path out)
  set(origin "the system")
  if(DANLU_KIT)
    string(FIND "${path}" "${DANLU_KIT}/" at)
    if(at EQUAL 0)
      set(origin "the kit")
    endif()
  endif()
  set(${out} "${origin}" PARENT_SCOPE)
endfunction()

# danlu_find_package(<name> [version] [CONFIG]): the system's package, else
# the kit's (<kit>/prefix/share/cmake/<name>/), else a configure error
# naming the Debian package and the kit.
macro(danlu_find_package name debian_package)
  find_package(${name} ${ARGN} QUIET)
  if(NOT ${name}_FOUND AND DANLU_KIT)
    find_package(${name} ${ARGN} QUIET PATHS "${DANLU_KIT}/prefix" NO_DEFAULT_PATH)
  endif()
  if(${name}_FOUND)
    danlu_origin("${${name}_DIR}" origin)
    message(STATUS "danlu: ${name} from ${origin} (${${name}_DIR})")
  else()
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
  if(NOT ZLIB_FOUND AND DANLU_KIT AND EXISTS "${DANLU_KIT}/prefix/include/zlib.h")
    set(ZLIB_INCLUDE_DIR "${DANLU_KIT}/prefix/include" CACHE PATH "zlib.h's folder" FORCE)
    if(NOT ZLIB_LIBRARY)
      find_library(ZLIB_LIBRARY NAMES z libz.so.1)
    endif()
    find_package(ZLIB QUIET)
  endif()
  if(ZLIB_FOUND)
    danlu_origin("${ZLIB_INCLUDE_DIR}" origin)
    message(STATUS "danlu: zlib headers from ${origin} (${ZLIB_INCLUDE_DIR}), library ${ZLIB_LIBRARY}")
  else()
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
