# condense_module(NAME DEPENDENCY...): the static library condense_NAME from src/condense/NAME/*.cpp,
# linking the modules (bare names) and targets (with ::) it depends on. The modules it may include
# are its dependencies and theirs; condense_check_layers() checks every include against them.

set_property(GLOBAL PROPERTY CONDENSE_MODULES "")

function(condense_module name)
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/condense/${name}/*.cpp)
  list(FILTER sources EXCLUDE REGEX ".*/cli/main\\.cpp$")
  list(FILTER sources EXCLUDE REGEX ".*/series/sweep_mpi\\.cpp$")
  list(FILTER sources EXCLUDE REGEX ".*/series/sweep_without_mpi\\.cpp$")
  add_library(condense_${name} STATIC ${sources})
  target_include_directories(condense_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  set(allowed ${name})
  foreach(dependency ${ARGN})
    if(dependency MATCHES "::")
      target_link_libraries(condense_${name} PUBLIC ${dependency})
    else()
      target_link_libraries(condense_${name} PUBLIC condense_${dependency})
      get_property(below GLOBAL PROPERTY CONDENSE_ALLOWED_${dependency})
      list(APPEND allowed ${dependency} ${below})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES allowed)
  set_property(GLOBAL PROPERTY CONDENSE_ALLOWED_${name} ${allowed})
  set_property(GLOBAL APPEND PROPERTY CONDENSE_MODULES ${name})
endfunction()

# A build step that fails when a file of a module includes a module it may not (a higher one, or
# one beside it that it does not depend on), naming the file, the line and the modules it may use.
function(condense_check_layers)
  get_property(modules GLOBAL PROPERTY CONDENSE_MODULES)
  set(rules "")
  set(sources "")
  foreach(module ${modules})
    get_property(allowed GLOBAL PROPERTY CONDENSE_ALLOWED_${module})
    string(REPLACE ";" "," allowed "${allowed}")
    list(APPEND rules "${module}=${allowed}")
    file(GLOB files CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/condense/${module}/*.cpp
         ${PROJECT_SOURCE_DIR}/src/condense/${module}/*.hpp)
    list(APPEND sources ${files})
  endforeach()
  string(REPLACE ";" "|" rules "${rules}")
  set(stamp ${CMAKE_BINARY_DIR}/condense_layers.stamp)
  add_custom_command(
    OUTPUT ${stamp}
    COMMAND ${CMAKE_COMMAND} -DROOT=${PROJECT_SOURCE_DIR}/src/condense "-DRULES=${rules}"
            -P ${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake
    COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
    DEPENDS ${sources} ${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake
    COMMENT "Checking that every module includes only the modules below it"
    VERBATIM)
  add_custom_target(condense_layers ALL DEPENDS ${stamp})
  foreach(module ${modules})
    add_dependencies(condense_${module} condense_layers)
  endforeach()
  set(CONDENSE_LAYER_RULES "${rules}" PARENT_SCOPE)
endfunction()
