package dev.jmoco.backend.opencl;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The program text assembled from the kernel resources (no OpenCL runtime needed). */
class ClKernelSourcesTest {

    @Test
    void listsEveryKernelFileOfTheJarFolder() {
        List<String> names = ClKernelSources.list(ClKernelSources.FOLDER);
        assertTrue(names.containsAll(List.of("elementwise.cl", "updates.cl")), names.toString());
        assertTrue(names.stream().allMatch(n -> n.endsWith(".cl")), names.toString());
        assertEquals(names.stream().sorted().toList(), names);
    }

    @Test
    void headerOnceThenEachFileWithItsIncludeBlankedAndALineDirective() {
        String src = ClKernelSources.program("dev/jmoco/kerneltest/", List.of("header_test.cl"));
        assertTrue(src.startsWith("/*"), "starts with the header");
        assertEquals(1, count(src, "#define JMOCO_H"));
        assertFalse(src.contains("#include \"jmoco.h\""), "include line dropped");
        // The include was line 1 of the file: blanked, not removed, so the next line is still line 2.
        assertTrue(src.contains("#line 1 \"header_test.cl\"\n\n\n/*"), "line numbers kept");
    }

    private static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) n++;
        return n;
    }
}
