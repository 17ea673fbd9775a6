# CMake toolchain for macOS on x86_64 with zig cc, used by
# scripts/cross-cmocka.sh to build cmocka for the macOS test programs
# (compiled and linked, never run here). The wrappers beside this file run
# the Zig that scripts/zig.sh installs; CMAKE_AR and CMAKE_RANLIB must each
# be one program, hence zig-ar and zig-ranlib.
set(CMAKE_SYSTEM_NAME Darwin)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER ${CMAKE_CURRENT_LIST_DIR}/zig-cc)
set(CMAKE_C_COMPILER_TARGET x86_64-macos)
set(CMAKE_AR ${CMAKE_CURRENT_LIST_DIR}/zig-ar CACHE FILEPATH "zig ar")
set(CMAKE_RANLIB ${CMAKE_CURRENT_LIST_DIR}/zig-ranlib CACHE FILEPATH "zig ranlib")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
