// _mps2: figures a size report reads from the firmware.
#include "py/runtime.h"

size_t mps2_stack_peak(void);

// Deepest stack use since boot, in bytes.
static mp_obj_t mps2_stack_peak_fn(void) {
    return mp_obj_new_int_from_uint(mps2_stack_peak());
}
static MP_DEFINE_CONST_FUN_OBJ_0(mps2_stack_peak_obj, mps2_stack_peak_fn);

static const mp_rom_map_elem_t mps2_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__mps2) },
    { MP_ROM_QSTR(MP_QSTR_stack_peak), MP_ROM_PTR(&mps2_stack_peak_obj) },
};
static MP_DEFINE_CONST_DICT(mps2_module_globals, mps2_module_globals_table);

const mp_obj_module_t mp_module_mps2 = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&mps2_module_globals,
};
MP_REGISTER_MODULE(MP_QSTR__mps2, mp_module_mps2);
