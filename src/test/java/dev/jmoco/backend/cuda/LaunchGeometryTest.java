package dev.jmoco.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** OpenCL launch sizes turned into CUDA grids: blocks = ceil(global / local), exact integers. */
class LaunchGeometryTest {

    @Test
    void oneDimensionalGridIsCeilingOfGlobalOverLocal() {
        for (long global : new long[] {1, 255, 256, 257, 1000, 65_536, 3L * 256 * 1024 + 1}) {
            for (int local : new int[] {1, 32, 64, 256, 1024}) {
                LaunchGeometry g = LaunchGeometry.of(global, local);
                long expected = global / local + (global % local == 0 ? 0 : 1);
                assertEquals(expected, g.gridX(), global + "/" + local);
                assertEquals(1, g.gridY());
                assertEquals(local, g.blockX());
                assertEquals(1, g.blockY());
                // Covers every work-item, with less than one block of padding.
                assertEquals(true, (long) g.gridX() * local >= global && (long) (g.gridX() - 1) * local < global);
            }
        }
    }

    @Test
    void twoDimensionalGridRoundsEachAxis() {
        LaunchGeometry g = LaunchGeometry.of(100, 33, 16, 8);
        assertEquals(7, g.gridX());
        assertEquals(5, g.gridY());
        assertEquals(16, g.blockX());
        assertEquals(8, g.blockY());
        assertEquals(128, g.threads());
    }

    @Test
    void sizesCudaCannotRunAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.of(10, 0));
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.of(0, 64));
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.of(-5, 64));
        // gridDim.x is at most 2^31 - 1 blocks.
        assertEquals(Integer.MAX_VALUE, LaunchGeometry.of((long) Integer.MAX_VALUE, 1).gridX());
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.of((long) Integer.MAX_VALUE + 1, 1));
        // gridDim.y is at most 65535.
        assertEquals(65_535, LaunchGeometry.of(1, 65_535L * 4, 1, 4).gridY());
        var e = assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.of(1, 65_536L * 4, 1, 4));
        assertEquals(true, e.getMessage().contains("65535"), e.getMessage());
    }
}
