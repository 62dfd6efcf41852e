/* Compiled by the test layers.model_cannot_include_io, which expects the
 * compilation to FAIL: a model file that includes an io header must not
 * build, because the model layer's target sees only the include roots of
 * model and base (services/lib/CMakeLists.txt). */
#include "ladder/machine.h"
#include "ladder/kafka.h"

int ldr_layer_probe(void);
int ldr_layer_probe(void) {
    return LDR_TIER__COUNT;
}
