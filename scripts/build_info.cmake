# cmake -DSOURCE_DIR=... -DOUT=... -P scripts/build_info.cmake: writes OUT, a
# C++ file defining converge::BuildCommit() (src/cmd/build_info.h) as the
# checkout's commit ("-dirty" when tracked files differ from it; "unknown"
# outside a git checkout). Run at every build; OUT is rewritten only when its
# text changes, so an unchanged commit recompiles nothing.
execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR commit STREQUAL "")
  set(commit "unknown")
else()
  execute_process(COMMAND git -C "${SOURCE_DIR}" status --porcelain --untracked-files=no
    OUTPUT_VARIABLE changes ERROR_QUIET)
  if(NOT changes STREQUAL "")
    string(APPEND commit "-dirty")
  endif()
endif()
set(text "// Made by scripts/build_info.cmake at build time.\n#include \"cmd/build_info.h\"\n\nnamespace converge {\nconst char* BuildCommit() { return \"${commit}\"; }\n}  // namespace converge\n")
set(old "")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
