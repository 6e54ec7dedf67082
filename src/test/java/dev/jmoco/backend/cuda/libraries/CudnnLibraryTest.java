package dev.jmoco.backend.cuda.libraries;

import dev.jmoco.backend.ConvShape;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.FunctionDescriptor.of;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real cuDNN 9 (skipped where libcudnn.so.9 does not load, see {@link NativeLibraryAssumptions}): every
 * function {@link Cudnn} calls is bound, the version is 9 or later, and the descriptors {@link CudnnConv} sets
 * read back as the shape says (read with cuDNN's own getters, bound here only), in every pass's argument order;
 * none of this needs a GPU. {@link Cudnn#open} without a GPU fails with the one-line reason the backend prints.
 */
class CudnnLibraryTest {
    /** Stride 2, pad 3, 7x7 (the ResNet stem), 1x1, 3x3, odd sizes, filter as large as the padded input. */
    private static final List<ConvShape> SHAPES = List.of(
            new ConvShape(2, 3, 224, 224, 64, 7, 7, 2, 3),
            new ConvShape(4, 64, 56, 56, 256, 1, 1, 1, 0),
            new ConvShape(4, 128, 28, 28, 256, 1, 1, 2, 0),
            new ConvShape(3, 5, 9, 7, 4, 3, 3, 1, 1),
            new ConvShape(1, 2, 11, 13, 3, 3, 3, 2, 1),
            new ConvShape(1, 1, 1, 1, 1, 1, 1, 1, 0),
            new ConvShape(2, 3, 5, 5, 2, 7, 7, 1, 1));

    private CudnnFunctions f;

    @BeforeEach
    void requireCudnn() {
        NativeLibraryAssumptions.requireLoadable("cuDNN", List.of(Cudnn.SONAME));
        f = CudnnFunctions.bind(Cudnn.SONAME);
    }

    @Test
    void versionIsNineOrLater() {
        long version = f.version();
        assertTrue(version >= Cudnn.MIN_VERSION, "cudnnGetVersion " + version);
        assertTrue(CudnnFunctions.versionText(version).matches("9\\.\\d+\\.\\d+"), CudnnFunctions.versionText(version));
        assertEquals("9.10.2", CudnnFunctions.versionText(91002));
    }

    @Test
    void statusTextIsTheStatusNameAndCode() {
        assertEquals("CUDNN_STATUS_NOT_INITIALIZED (1001)", f.statusText(1001));
        assertEquals("CUDNN_STATUS_NOT_SUPPORTED (3000)", f.statusText(3000));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> f.check("cudnnFoo", 2000));
        assertEquals("cudnnFoo failed: CUDNN_STATUS_BAD_PARAM (2000)", e.getMessage());
    }

    @Test
    void descriptorsMatchTheShapeInEveryPassOrder() throws Throwable {
        MethodHandle getTensor = f.library.function("cudnnGetTensor4dDescriptor",
                of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        MethodHandle getFilter = f.library.function("cudnnGetFilter4dDescriptor",
                of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        MethodHandle getConv = f.library.function("cudnnGetConvolution2dDescriptor",
                of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        MethodHandle getMath = f.library.function("cudnnGetConvolutionMathType", of(JAVA_INT, ADDRESS, ADDRESS));
        for (boolean tf32 : new boolean[] {false, true})
            for (ConvShape s : SHAPES) {
                CudnnConv conv = new CudnnConv(f, s, tf32);
                try (Arena arena = Arena.ofConfined()) {
                    assertArrayEquals(new int[] {s.n(), s.k(), s.p(), s.q()}, conv.outputDims(), s.toString());
                    // {dataType, n, c, h, w, nStride, cStride, hStride, wStride}: packed NCHW float.
                    int[] x = {0, s.n(), s.c(), s.h(), s.w(), s.c() * s.h() * s.w(), s.h() * s.w(), s.w(), 1};
                    int[] y = {0, s.n(), s.k(), s.p(), s.q(), s.k() * s.p() * s.q(), s.p() * s.q(), s.q(), 1};
                    int[] w = {0, 0, s.k(), s.c(), s.r(), s.s()}; // dataType, format, k, c, r, s
                    int[][] expected = {x, w, y}; // forward order; the backward orders permute these
                    int[][] order = {{0, 1, 2}, {1, 2, 0}, {0, 2, 1}};
                    for (CudnnPass pass : CudnnPass.values())
                        for (int position = 0; position < 3; position++) {
                            int role = order[pass.ordinal()][position];
                            MemorySegment d = conv.descriptor(pass, position);
                            String what = s + " " + pass + " descriptor " + position;
                            if (role == 1) assertArrayEquals(expected[role], read(arena, 6, out -> (int)
                                    getFilter.invokeExact(d, out[0], out[1], out[2], out[3], out[4], out[5])), what);
                            else assertArrayEquals(expected[role], read(arena, 9, out ->
                                    (int) getTensor.invokeExact(d, out[0], out[1], out[2], out[3], out[4], out[5],
                                            out[6], out[7], out[8])), what);
                        }
                    // pad, pad, stride, stride, dilation 1, 1, cross-correlation, float.
                    assertArrayEquals(new int[] {s.pad(), s.pad(), s.stride(), s.stride(), 1, 1, 1, 0},
                            read(arena, 8, out -> (int) getConv.invokeExact(conv.convolution(), out[0], out[1],
                                    out[2], out[3], out[4], out[5], out[6], out[7])), s.toString());
                    assertArrayEquals(new int[] {tf32 ? CudnnFunctions.DEFAULT_MATH : CudnnFunctions.FMA_MATH},
                            read(arena, 1, out -> (int) getMath.invokeExact(conv.convolution(), out[0])), "math type");
                    conv.setMathType(CudnnFunctions.TENSOR_OP_MATH);
                    assertArrayEquals(new int[] {CudnnFunctions.TENSOR_OP_MATH},
                            read(arena, 1, out -> (int) getMath.invokeExact(conv.convolution(), out[0])), "math type");
                } finally {
                    conv.close();
                    conv.close();
                }
            }
    }

    /** A getter call with {@code count} int out-parameters. */
    private interface Getter { int call(MemorySegment[] out) throws Throwable; }

    private int[] read(Arena arena, int count, Getter getter) throws Throwable {
        MemorySegment[] out = new MemorySegment[count];
        for (int i = 0; i < count; i++) out[i] = arena.allocate(JAVA_INT);
        f.check("getter", getter.call(out));
        int[] v = new int[count];
        for (int i = 0; i < count; i++) v[i] = out[i].get(JAVA_INT, 0);
        return v;
    }

    @Test
    void perfStructIsFortyEightBytesWithMemoryAtSixteen() {
        assertEquals(48, CudnnFunctions.PERF.byteSize());
        assertEquals(8, CudnnFunctions.PERF.byteAlignment());
        assertEquals(List.of(0L, 4L, 16L, 28L), List.of(CudnnFunctions.PERF_ALGO, CudnnFunctions.PERF_STATUS,
                CudnnFunctions.PERF_MEMORY, CudnnFunctions.PERF_MATH_TYPE));
    }

    @Test
    void openWithoutGpuNamesTheFailingCallAndStatus() {
        assumeFalse(NativeLibraryAssumptions.driverPresent(), "a CUDA driver is installed: see openWithGpu");
        CudaLibraryUnavailable e = assertThrows(CudaLibraryUnavailable.class, () -> Cudnn.open(0, false));
        assertTrue(e.getMessage().matches("cuDNN not used: cudnnCreate failed: CUDNN_STATUS_\\w+ \\(\\d+\\)"),
                e.getMessage());
    }

    /** Where a driver is: a handle on the default stream, described, closed twice. */
    @Test
    void openWithGpu() {
        assumeTrue(NativeLibraryAssumptions.driverPresent(), "no CUDA driver (libcuda.so.1) here");
        Cudnn cudnn = Cudnn.open(0, false);
        assertTrue(cudnn.describe().matches("cuDNN 9\\.\\d+\\.\\d+ \\(libcudnn\\.so\\.9\\), TF32 off"),
                cudnn.describe());
        cudnn.close();
        cudnn.close();
    }
}
