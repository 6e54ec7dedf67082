package dev.jmoco.backend.cuda.libraries;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which cuDNN 9 statuses of a convolution run make {@link Cudnn} move on to the next algorithm
 * ({@link CudnnFunctions#tryAnother}): a pure function of the code, so it runs without cuDNN or a GPU. The codes
 * are cudnnStatus_t of cuDNN 9's cudnn_graph.h.
 */
class CudnnStatusTest {

    @Test
    void badParamAndNotSupportedCategoriesTryAnotherAlgorithm() {
        // CUDNN_STATUS_BAD_PARAM 2000 (what a misaligned view can come back as), the deprecated INVALID_VALUE
        // 2001, NULL_POINTER 2002, MISALIGNED_POINTER 2003 ... DESCRIPTOR_TYPE 2012, and the category's room.
        for (int status = 2000; status <= 2999; status++) assertTrue(CudnnFunctions.tryAnother(status), "" + status);
        // CUDNN_STATUS_NOT_SUPPORTED 3000, GRAPH_PATTERN 3001 ... INVALID_DYNAMIC_SHAPE 3014, and the rest.
        for (int status = 3000; status <= 3999; status++) assertTrue(CudnnFunctions.tryAnother(status), "" + status);
        assertTrue(CudnnFunctions.tryAnother(CudnnFunctions.BAD_PARAM));
        assertTrue(CudnnFunctions.tryAnother(CudnnFunctions.NOT_SUPPORTED));
    }

    @Test
    void successAndRealFailuresDoNot() {
        // SUCCESS; NOT_INITIALIZED 1001 ... SUBLIBRARY_LOADING_FAILED 1008; INTERNAL_ERROR 4000 ...
        // TEXTURE_CREATION_FAILED 4006; EXECUTION_FAILED 5000 ... CURAND 5004; codes outside every category.
        for (int status : new int[] {0, 1, 999, 1001, 1008, 1999, 4000, 4004, 4006, 5000, 5001, 5004, 6000, -1, -2000,
                -3000, Integer.MAX_VALUE, Integer.MIN_VALUE})
            assertFalse(CudnnFunctions.tryAnother(status), "" + status);
    }
}
