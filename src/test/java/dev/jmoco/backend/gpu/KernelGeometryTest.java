package dev.jmoco.backend.gpu;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * KernelGeometry is the only definition of the sizes launchers and kernels share. A kernel file that #defines one
 * of its names again would override the -D value (a redefinition is only a warning, and the file's value wins),
 * so launcher and kernel would disagree with no error: that fails here, as does a constant no kernel uses (a
 * launcher's own, misplaced). That the values reach the OpenCL compiler is checked on the device by
 * PortabilityHeaderTest; nvcc gets the same options from the build (pom.xml), where a missing one does not compile.
 */
class KernelGeometryTest {
    private static final Pattern DEFINE = Pattern.compile("^\\s*#\\s*define\\s+(\\w+)", Pattern.MULTILINE);

    @Test
    void noKernelFileDefinesASharedSizeItself() throws IOException {
        List<String> copies = new ArrayList<>();
        kernelFiles().forEach((file, text) -> {
            Matcher m = DEFINE.matcher(text);
            while (m.find())
                if (KernelGeometry.values().containsKey(m.group(1))) copies.add(file + ": #define " + m.group(1));
        });
        assertEquals(List.of(), copies, "defined in KernelGeometry, passed as -D: remove the kernel's own copy");
    }

    @Test
    void everySharedSizeIsUsedByAKernel() throws IOException {
        Map<String, String> files = kernelFiles();
        for (String name : KernelGeometry.values().keySet()) {
            Pattern use = Pattern.compile("\\b" + name + "\\b");
            assertTrue(files.values().stream().anyMatch(t -> use.matcher(t).find()), name + " is used by no kernel");
        }
    }

    @Test
    void definesEveryConstantByName() {
        String d = KernelGeometry.defines();
        assertTrue(d.startsWith("-DJMOCO_GEOMETRY "), d);
        assertTrue(d.contains(" -DGEMM_TILE=64 ") && d.contains(" -DBN_TILE_C=32 ")
                && d.contains(" -DINFONCE_ROWS_THREADS=1024 "), d);
        assertEquals(KernelGeometry.values().size() + 1, d.split(" ").length, d);
    }

    /** Every kernel source (kernels/ and kernels/cuda/: *.cl, *.cu, *.h) by path. */
    private static Map<String, String> kernelFiles() throws IOException {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> s = Files.walk(Path.of("kernels"))) {
            for (Path p : s.filter(p -> p.toString().matches(".*\\.(cl|cu|h)$")).toList())
                files.put(p.toString(), Files.readString(p));
        }
        assertTrue(files.keySet().containsAll(List.of("kernels/gemm.cl", "kernels/cuda/gemm_tf32.cu")), files.keySet()
                .toString());
        return files;
    }
}
