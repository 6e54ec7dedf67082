package dev.jmoco.testing;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The checker every other test relies on must itself be able to fail. */
class ToleranceTest {

    @Test
    void exactToleranceCatchesAMismatchAfterAnExactMatch() {
        AssertionError e = assertThrows(AssertionError.class,
                () -> Tolerance.assertClose("x", new double[] {1, 2}, new float[] {1, 3}, 0, 0));
        assertTrue(e.getMessage().contains("worst element [1]"), e.getMessage());
    }

    @Test
    void reportsTheWorstElementAsAMultipleOfItsThreshold() {
        AssertionError e = assertThrows(AssertionError.class,
                () -> Tolerance.assertClose("y", new double[] {1, 100}, new float[] {1.5f, 100.5f}, 0.1, 0.01));
        assertTrue(e.getMessage().contains("worst element [0]") && e.getMessage().contains("4.55x"), e.getMessage());
    }

    @Test
    void nanFailsUnlessExpected() {
        assertThrows(AssertionError.class,
                () -> Tolerance.assertClose("z", new double[] {0}, new float[] {Float.NaN}, 1, 1));
        assertDoesNotThrow(() -> Tolerance.assertClose("z", new double[] {Double.NaN}, new float[] {Float.NaN}, 0, 0));
    }

    @Test
    void withinTolerancePasses() {
        assertDoesNotThrow(() -> Tolerance.assertClose("w", new double[] {1, 1000}, new float[] {1.05f, 1009f}, 0.1, 0.01));
    }
}
