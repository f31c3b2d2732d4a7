# natter_ragel_generate(<out_var> <file.rl>...): compile Ragel grammars into
# C++ in the build tree. Generated code is never committed.
#
# Code style: -G2 (goto-driven). Measured with bench/parser_bench on the
# realistic mix, the table-driven -T0 and -F1 ran at 0.16x and 0.18x of -G2's
# speed (bench/RESULTS.md); NATTER_RAGEL_STYLE lets you measure again.
find_program(RAGEL_EXECUTABLE ragel REQUIRED)
set(NATTER_RAGEL_STYLE "-G2" CACHE STRING "Ragel code style (-T0 -T1 -F0 -F1 -G0 -G1 -G2)")

function(natter_ragel_generate out_var)
  set(outputs)
  foreach(rl IN LISTS ARGN)
    get_filename_component(name ${rl} NAME_WE)
    get_filename_component(dir ${rl} DIRECTORY)
    set(out ${PROJECT_BINARY_DIR}/grammar/${name}.cpp)
    file(GLOB includes ${dir}/*.rl)
    add_custom_command(
      OUTPUT ${out}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/grammar
      COMMAND ${RAGEL_EXECUTABLE} ${NATTER_RAGEL_STYLE} -I ${dir} -o ${out} ${rl}
      DEPENDS ${rl} ${includes}
      COMMENT "Ragel ${NATTER_RAGEL_STYLE}: ${name}.rl"
      VERBATIM)
    list(APPEND outputs ${out})
  endforeach()
  set(${out_var} ${outputs} PARENT_SCOPE)
endfunction()
