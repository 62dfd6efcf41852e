/* Compiled by the test layers.model_sees_its_layers: a model file that
 * includes headers of its own layer and of base builds. It is the control
 * of layers.model_cannot_include_io, which differs only in one include. */
#include "ladder/alloc.h"
#include "ladder/machine.h"

int ldr_layer_probe(void);
int ldr_layer_probe(void) {
    return LDR_TIER__COUNT;
}
