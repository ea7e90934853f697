# SPDX-License-Identifier: MIT
# Warnings, sanitizers and release flags for every target.
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter)
if(SLOB_WERROR)
  add_compile_options(-Werror)
endif()
# Release keeps frame pointers and symbols so perf can unwind (docs/PROFILING.md).
set(CMAKE_C_FLAGS_RELEASE "-O2 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -DNDEBUG")
set(CMAKE_C_FLAGS_RELWITHDEBINFO "-O2 -g -fno-omit-frame-pointer")
set(CMAKE_C_FLAGS_DEBUG "-O1 -g -fno-omit-frame-pointer")
if(SLOB_SANITIZE AND SLOB_TSAN)
  message(FATAL_ERROR "SLOB_SANITIZE and SLOB_TSAN are exclusive")
endif()
if(SLOB_FUZZ AND (SLOB_SANITIZE OR SLOB_TSAN))
  message(FATAL_ERROR "SLOB_FUZZ brings its own ASan+UBSan; do not combine it with SLOB_SANITIZE or SLOB_TSAN")
endif()
if(SLOB_FUZZ)
  # Coverage-guided fuzzing (docs/FUZZING.md). Every library the targets
  # call is compiled with the coverage hooks and the sanitizers, not only
  # the harness: libFuzzer can only steer by edges it can see, and ASan only
  # catches overreads in code it instrumented. fuzzer-no-link leaves main()
  # alone, so the tools and unit tests of this tree still link (the ASan
  # runtime carries weak stubs for the coverage callbacks); only the
  # fuzz_<target> executables link libFuzzer itself (tests/CMakeLists.txt).
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "SLOB_FUZZ needs clang (apt-get install clang, or run scripts/install-deps.sh --test): "
                        "configure with --preset fuzz or -DCMAKE_C_COMPILER=clang")
  endif()
  # clang also flags unused static inline functions of the main file, which
  # the typed ring macros (ringbuf/ring.h) generate; gcc stays the judge.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                      -Wno-unused-function)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(SLOB_SANITIZED=1 SLOB_FUZZING=1)
endif()
if(SLOB_SANITIZE)
  # float-cast-overflow: GCC leaves it out of "undefined"; a double -> int
  # conversion out of range (a decoded price or size) is undefined behaviour
  add_compile_options(-fsanitize=address,undefined,float-cast-overflow
                      -fno-sanitize-recover=undefined,float-cast-overflow)
  add_link_options(-fsanitize=address,undefined,float-cast-overflow)
  add_compile_definitions(SLOB_SANITIZED=1)
endif()
if(SLOB_TSAN)
  # gcc's TSan does not model standalone fences (-Wtsan); the seqlock in
  # engine/stats.c needs one. Keep the warning visible, not fatal.
  add_compile_options(-fsanitize=thread -Wno-error=tsan)
  add_link_options(-fsanitize=thread)
  add_compile_definitions(SLOB_SANITIZED=1 SLOB_TSAN=1)
endif()
