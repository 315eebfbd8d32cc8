# User C module (cmake ports: rp2, esp32): MicroPython's bluetooth module on the
# Rust host. Use: make USER_C_MODULES=<this repo>/cmodule/micropython.cmake
# The board sets TROUBLE_TARGET to its Rust target (e.g. thumbv6m-none-eabi).
# Not yet exercised by CI: no cmake port is built here.
set(TROUBLE_DIR ${CMAKE_CURRENT_LIST_DIR}/trouble)
get_filename_component(TROUBLE_ROOT ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)

add_library(usermod_trouble INTERFACE)

get_filename_component(TROUBLE_PORT ${MICROPY_PORT_DIR} NAME)
file(GLOB TROUBLE_PORT_SRC ${TROUBLE_DIR}/ports/${TROUBLE_PORT}/*.c)
target_sources(usermod_trouble INTERFACE ${TROUBLE_DIR}/glue.c ${TROUBLE_PORT_SRC})
target_include_directories(usermod_trouble INTERFACE ${TROUBLE_DIR})
# The bluetooth module's configuration for this backend (defines.txt).
file(STRINGS ${TROUBLE_DIR}/defines.txt TROUBLE_DEFINES REGEX "^[A-Z]")
# MicroPython's optional parts, each NAME:cargo-feature: a board may set
# MICROPY_PY_BLUETOOTH_ENABLE_<NAME> to 0 (defines.txt has the defaults); C
# gets the value as a definition and Rust as the feature (as micropython.mk).
set(TROUBLE_FEATURES "")
foreach(PART CENTRAL_MODE:central GATT_CLIENT:gatt-client L2CAP_CHANNELS:l2cap PAIRING_BONDING:pairing)
    string(REPLACE ":" ";" PART ${PART})
    list(GET PART 0 NAME)
    list(GET PART 1 FEATURE)
    set(VAR MICROPY_PY_BLUETOOTH_ENABLE_${NAME})
    list(FILTER TROUBLE_DEFINES EXCLUDE REGEX "^${VAR}=")
    if(NOT DEFINED ${VAR})
        file(STRINGS ${TROUBLE_DIR}/defines.txt DEFAULT REGEX "^${VAR}=")
        string(REPLACE "${VAR}=" "" ${VAR} "${DEFAULT}")
    endif()
    list(APPEND TROUBLE_DEFINES ${VAR}=${${VAR}})
    if(${${VAR}})
        list(APPEND TROUBLE_FEATURES ${FEATURE})
    endif()
endforeach()
list(JOIN TROUBLE_FEATURES "," TROUBLE_FEATURES)
target_compile_definitions(usermod_trouble INTERFACE ${TROUBLE_DEFINES})

# The staticlib is built by cargo; bindgen needs the port's include paths and
# definitions, which cmake knows only as generator expressions of the firmware.
set(TROUBLE_CARGO_DIR ${CMAKE_BINARY_DIR}/trouble)
set(TROUBLE_LIB ${TROUBLE_CARGO_DIR}/${TROUBLE_TARGET}/release/libmptrouble.a)
add_custom_target(trouble_cargo
    COMMAND ${CMAKE_COMMAND} -E env
        "TROUBLE_CFLAGS=-I$<JOIN:$<TARGET_PROPERTY:${MICROPY_TARGET},INCLUDE_DIRECTORIES>, -I> -D$<JOIN:$<TARGET_PROPERTY:${MICROPY_TARGET},COMPILE_DEFINITIONS>, -D>"
        cargo build --release --locked --manifest-path ${TROUBLE_ROOT}/Cargo.toml
        --target-dir ${TROUBLE_CARGO_DIR} --target ${TROUBLE_TARGET}
        --no-default-features --features "${TROUBLE_FEATURES}"
    BYPRODUCTS ${TROUBLE_LIB}
    COMMAND_EXPAND_LISTS
    VERBATIM
)
target_link_libraries(usermod_trouble INTERFACE ${TROUBLE_LIB})
target_link_libraries(usermod INTERFACE usermod_trouble)
add_dependencies(${MICROPY_TARGET} trouble_cargo)
