package dev.jmoco.backend.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The fatbin the build compiles from {@code kernels/} where nvcc exists, or the "no kernels" state where it does
 * not. Which state is checked depends on the build; where the profile that runs nvcc is active it sets
 * {@code jmoco.requireCudaKernels}, and a missing fatbin then fails rather than counts as the other state.
 *
 * <p>The fatbin's contents are checked by reading its container format (not documented by NVIDIA; the layout
 * that cuobjdump and the driver read, confirmed on nvcc 13.0 output): a 16-byte header (u32 magic 0xBA55ED50,
 * u16 version 1, u16 header size, u64 size of what follows), then images, each a header (u16 kind: 1 PTX,
 * 2 ELF cubin; u32 header size at 4; u64 payload size at 8; u32 architecture at 28, e.g. 80) and its payload.
 * Where cuobjdump is installed, it cross-checks that reading.
 */
class CudaKernelsTest {
    private static final int PTX = 1, ELF = 2;
    private static final Path CUOBJDUMP = Path.of("/usr/local/cuda/bin/cuobjdump");

    /** One image of the fatbin: its kind, target architecture and payload. */
    private record Image(int kind, int arch, byte[] payload) {}

    private static boolean resourcePresent() {
        return CudaKernels.class.getClassLoader().getResource(CudaKernels.RESOURCE) != null;
    }

    @Test
    void fatbinIsPresentWhereTheBuildRanNvcc() {
        assumeTrue(Boolean.getBoolean("jmoco.requireCudaKernels"), "this build did not run nvcc");
        assertTrue(resourcePresent(), CudaKernels.RESOURCE + " missing although the cuda-kernels profile ran");
        assertTrue(CudaKernels.fatbin().isPresent());
    }

    @Test
    void withoutTheFatbinThereAreNoKernelsAndStatusSaysWhy() {
        assumeFalse(resourcePresent(), "this build has CUDA kernels");
        assertTrue(CudaKernels.fatbin().isEmpty());
        assertEquals("no CUDA kernels in this build (nvcc was not found when it was built)", CudaKernels.status());
    }

    @Test
    void statusNamesTheTargetsAndTheSize() {
        byte[] fatbin = fatbinOrSkip();
        assertEquals("kernels: fatbin with sm_80, sm_90 cubins and compute_80 PTX (" + fatbin.length + " bytes)",
                CudaKernels.status());
    }

    @Test
    void fatbinHoldsExactlySm80AndSm90CubinsAndCompute80Ptx() {
        List<Image> images = images(fatbinOrSkip());
        Set<String> targets = images.stream()
                .map(i -> (i.kind() == ELF ? "sm_" : i.kind() == PTX ? "compute_" : "kind" + i.kind() + "_") + i.arch())
                .collect(Collectors.toSet());
        assertEquals(3, images.size(), targets.toString());
        assertEquals(Set.of("sm_80", "sm_90", "compute_80"), targets);
    }

    @Test
    void everyKernelOfTheKernelsFolderIsInEachCubin() throws IOException {
        List<Image> cubins = images(fatbinOrSkip()).stream().filter(i -> i.kind() == ELF).toList();
        List<String> kernels = kernelNames();
        assertTrue(kernels.size() > 30, "kernel declarations found in kernels/*.cl: " + kernels);
        for (Image cubin : cubins) {
            // Uncompressed ELF (nvcc compresses only PTX by default): kernel symbols are in its string table,
            // each as a NUL-terminated name (extern "C", so unmangled).
            assertArrayEquals(new byte[] {0x7f, 'E', 'L', 'F'}, Arrays.copyOf(cubin.payload(), 4),
                    "sm_" + cubin.arch() + " image is a plain ELF file");
            String text = new String(cubin.payload(), StandardCharsets.ISO_8859_1);
            List<String> missing = kernels.stream().filter(k -> !text.contains("\0" + k + "\0")).toList();
            assertEquals(List.of(), missing, "kernels missing from the sm_" + cubin.arch() + " cubin");
        }
    }

    @Test
    void cuobjdumpListsTheSameTargets(@TempDir Path dir) throws IOException, InterruptedException {
        byte[] fatbin = fatbinOrSkip();
        assumeTrue(Files.isExecutable(CUOBJDUMP), CUOBJDUMP + " not installed");
        Path file = Files.write(dir.resolve("jmoco.fatbin"), fatbin);
        String elf = run(CUOBJDUMP.toString(), "--list-elf", file.toString());
        String ptx = run(CUOBJDUMP.toString(), "--list-ptx", file.toString());
        assertTrue(elf.contains("sm_80") && elf.contains("sm_90"), elf);
        assertTrue(ptx.contains("80") && !ptx.contains("90"), ptx);
    }

    private static byte[] fatbinOrSkip() {
        assumeTrue(resourcePresent(), "no CUDA kernels in this build");
        return CudaKernels.fatbin().orElseThrow();
    }

    /** The images of a fatbin, walking the container layout described in the class comment. */
    private static List<Image> images(byte[] fatbin) {
        ByteBuffer b = ByteBuffer.wrap(fatbin).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(CudaKernels.FATBIN_MAGIC, b.getInt(0), "magic");
        assertEquals(1, b.getShort(4), "container version");
        int headerSize = b.getShort(6);
        assertEquals(fatbin.length, headerSize + b.getLong(8), "header size + content size = file size");
        List<Image> images = new ArrayList<>();
        for (int at = headerSize; at < fatbin.length; ) {
            int kind = b.getShort(at), imageHeader = b.getInt(at + 4), arch = b.getInt(at + 28);
            long size = b.getLong(at + 8);
            assertTrue(size > 0 && at + imageHeader + size <= fatbin.length, "image at " + at + " inside the file");
            int from = at + imageHeader;
            images.add(new Image(kind, arch, Arrays.copyOfRange(fatbin, from, from + (int) size)));
            at = from + (int) size;
        }
        return images;
    }

    /** Names of the {@code KERNEL void name(...)} declarations in {@code kernels/*.cl} (tests run in the repo). */
    private static List<String> kernelNames() throws IOException {
        Pattern kernel = Pattern.compile("KERNEL\\s+void\\s+(\\w+)\\s*\\(");
        List<String> names = new ArrayList<>();
        try (Stream<Path> files = Files.list(Path.of("kernels"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".cl")).sorted().toList()) {
                Matcher m = kernel.matcher(Files.readString(f));
                while (m.find()) names.add(m.group(1));
            }
        }
        return names;
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertFalse(out.isBlank(), String.join(" ", command) + " printed nothing");
        return out;
    }
}
