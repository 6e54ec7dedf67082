package dev.jmoco.backend.cuda;

import jcuda.driver.CUstream_flags;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The backend's stream must stay blocking: the synchronous copies on the legacy default stream rely on its
 * implicit synchronisation with this stream ({@link CudaBackend#STREAM_FLAGS} says what would break). A
 * compile-time constant, read without loading JCuda's natives.
 */
class CudaStreamFlagsTest {

    @Test
    void theStreamIsBlocking() {
        assertEquals(CUstream_flags.CU_STREAM_DEFAULT, CudaBackend.STREAM_FLAGS);
        assertEquals(0, CudaBackend.STREAM_FLAGS & CUstream_flags.CU_STREAM_NON_BLOCKING);
    }
}
