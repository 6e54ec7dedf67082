package dev.jmoco.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The grammar of {@code --device cuda[:N][:kernels][:tf32][:portable][:profile]}. */
class CudaOptionsTest {

    @Test
    void plainCudaIsTheDefaults() {
        assertEquals(new CudaOptions(0, true, false, false, false), CudaOptions.parse(""));
        assertEquals(CudaOptions.DEFAULT, CudaOptions.parse("0"));
    }

    @Test
    void wordsInAnyOrderWithAnOrdinal() {
        assertEquals(new CudaOptions(3, true, false, false, false), CudaOptions.parse("3"));
        assertEquals(new CudaOptions(0, false, false, false, false), CudaOptions.parse("kernels"));
        assertEquals(new CudaOptions(1, false, true, false, false), CudaOptions.parse("tf32:1:kernels"));
        assertEquals(new CudaOptions(2, true, true, true, false), CudaOptions.parse("2:portable:tf32"));
        assertEquals(new CudaOptions(0, true, false, false, true), CudaOptions.parse("profile"));
    }

    @Test
    void textParsesBack() {
        for (String option : new String[] {"", "1", "kernels", "tf32", "portable", "7:kernels:tf32:portable", "profile:kernels"}) {
            CudaOptions o = CudaOptions.parse(option);
            assertEquals(o, CudaOptions.parse(o.text()), option);
        }
        assertEquals("1:kernels:tf32", CudaOptions.parse("tf32:kernels:1").text());
    }

    @Test
    void unknownRepeatedOrEmptyWordsAreRejectedByName() {
        var e = assertThrows(IllegalArgumentException.class, () -> CudaOptions.parse("0:fast"));
        assertEquals("unknown option 'fast' in 'cuda:0:fast' (form: cuda[:N][:kernels][:tf32][:portable][:profile])",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaOptions.parse("1:2"));
        assertEquals("'2' repeats an option in 'cuda:1:2'", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CudaOptions.parse("tf32:tf32"));
        assertEquals("'tf32' repeats an option in 'cuda:tf32:tf32'", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CudaOptions.parse("kernels:"));
        assertThrows(IllegalArgumentException.class, () -> CudaOptions.parse("-1"));
        assertThrows(IllegalArgumentException.class, () -> CudaOptions.parse("12345"));
    }

    @Test
    void whichPathsEachOptionAllows() {
        CudaOptions plain = CudaOptions.DEFAULT, kernels = CudaOptions.parse("kernels"),
                tf32 = CudaOptions.parse("tf32"), kernelsTf32 = CudaOptions.parse("kernels:tf32"),
                portable = CudaOptions.parse("portable:tf32");
        assertTrue(plain.usesLibraries());
        assertFalse(kernels.usesLibraries());
        assertFalse(portable.usesLibraries()); // portable: the shared kernels only, whatever else is asked
        assertFalse(plain.usesTf32Kernel(false));
        assertTrue(tf32.usesTf32Kernel(false));
        assertFalse(tf32.usesTf32Kernel(true)); // cuBLAS opened: it runs gemm, in TF32
        assertTrue(kernelsTf32.usesTf32Kernel(false));
        assertFalse(portable.usesTf32Kernel(false));
        assertTrue(plain.usesInfoNceRows());
        assertTrue(kernels.usesInfoNceRows());
        assertFalse(portable.usesInfoNceRows());
    }
}
