# Run after a test binary links (tests/CMakeLists.txt, converge_suite_tests):
# lists its suites with --gtest_list_tests and writes OUT, a ctest script with
# one entry per suite, PREFIX.Suite, running `BIN --gtest_filter=Suite.*`.
#
# One process per suite instead of one per case: a contract suite shares one
# server (contract/fixtures.h), which a process per case started anew for
# every case, and under ASan a test process costs ~0.2 s of CPU to start and
# exit before it runs anything.
#
# Arguments (-D): BIN, OUT, PREFIX, WORKDIR, TIMEOUT, LABELS (a list, passed
# with "|" between its items), FILTER (a gtest filter the suites must pass:
# "*" or "-A.*:B.*", as TEST_FILTER of gtest_discover_tests), ENVIRONMENT
# (one NAME=value or empty).
foreach(arg BIN OUT PREFIX WORKDIR TIMEOUT)
  if(NOT DEFINED ${arg})
    message(FATAL_ERROR "suite_tests.cmake: -D${arg}= missing")
  endif()
endforeach()
if(NOT FILTER)
  set(FILTER "*")
endif()

execute_process(COMMAND "${BIN}" --gtest_list_tests "--gtest_filter=${FILTER}"
  OUTPUT_VARIABLE listing ERROR_VARIABLE errors RESULT_VARIABLE rc TIMEOUT 60)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "suite_tests.cmake: ${BIN} --gtest_list_tests failed (${rc}):\n${errors}")
endif()

# Suites are the lines that do not start with a space ("Suite." or
# "Prefix/Suite.  # TypeParam = ..."), their cases the indented lines after
# them. A suite whose cases are all disabled gets no entry. The comments
# (a parameter's text) go first: a "[" or ";" in one would bend the list.
string(REGEX REPLACE " *#[^\n]*" "" listing "${listing}")
string(REGEX MATCHALL "[^\n]+" lines "${listing}")
string(REPLACE "|" ";" labels "${LABELS}")
set(suites "")
set(suite "")
foreach(line IN LISTS lines)
  if(line MATCHES "^([^ #][^ ]*)\\.")
    set(suite "${CMAKE_MATCH_1}")
  elseif(suite AND line MATCHES "^  ([^ ]+)" AND NOT CMAKE_MATCH_1 MATCHES "^DISABLED_")
    if(NOT suite MATCHES "^DISABLED_|/DISABLED_")
      list(APPEND suites "${suite}")
    endif()
    set(suite "")
  endif()
endforeach()

set(script "")
foreach(suite IN LISTS suites)
  set(name "${PREFIX}${suite}")
  string(APPEND script
    "add_test([==[${name}]==] [==[${BIN}]==] [==[--gtest_filter=${suite}.*]==])\n"
    "set_tests_properties([==[${name}]==] PROPERTIES WORKING_DIRECTORY [==[${WORKDIR}]==]"
    " TIMEOUT ${TIMEOUT} LABELS [==[${labels}]==]")
  if(ENVIRONMENT)
    string(APPEND script " ENVIRONMENT [==[${ENVIRONMENT}]==]")
  endif()
  string(APPEND script ")\n")
endforeach()
file(WRITE "${OUT}" "${script}")
