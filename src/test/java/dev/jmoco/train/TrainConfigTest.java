package dev.jmoco.train;

import dev.jmoco.moco.Mechanism;
import dev.jmoco.nn.HeadKind;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainConfigTest {

    private static void rejects(TrainConfig.Builder b, String... parts) {
        var e = assertThrows(IllegalArgumentException.class, b::build);
        for (String p : parts) assertTrue(e.getMessage().contains(p), e.getMessage() + " lacks " + p);
    }

    @Test
    void invalidCombinationsNameBothNumbers() {
        rejects(TrainConfig.builder().batch(256).queue(128), "queue 128", "256");
        rejects(TrainConfig.builder().batch(128).queue(128).symmetric(true), "queue 128", "256", "symmetric");
        rejects(TrainConfig.builder().batch(100).bnSplits(8), "batch 100", "bn-splits 8");
        rejects(TrainConfig.builder().warmupEpochs(11).epochs(10), "11", "10");
        rejects(TrainConfig.builder().arch("vgg"), "vgg");
        rejects(TrainConfig.builder().symmetric(true).mechanism(Mechanism.END_TO_END).queue(512), "end-to-end");
        rejects(TrainConfig.builder().milestones(5, 3), "[5, 3]");
    }

    @Test
    void memoryBankAndEndToEndDoNotNeedAQueueAsLargeAsTheBatch() {
        TrainConfig.builder().mechanism(Mechanism.END_TO_END).queue(16).build();
        TrainConfig.builder().mechanism(Mechanism.MEMORY_BANK).queue(16).build();
    }

    @Test
    void roundTripsThroughStrings() {
        TrainConfig c = TrainConfig.builder().arch("resnet18").head(HeadKind.V1).mechanism(Mechanism.MEMORY_BANK)
                .schedule("step").milestones(3, 7).lr(0.125).temperature(0.07f).cropScaleMin(0.4).seed(-5)
                .dataDir(Path.of("/x y")).build();
        Map<String, String> strings = new LinkedHashMap<>();
        c.asMap().forEach((k, v) -> strings.put(k, v instanceof int[] a ? java.util.Arrays.toString(a) : v.toString()));
        TrainConfig back = TrainConfig.fromStrings(strings, null);
        assertEquals(c, back);
        assertEquals(c.toString(), back.toString());
        assertEquals(0.125 * 256 / 256, back.scaledLr());
        assertEquals(0.0625, c.toBuilder().batch(128).build().scaledLr(), "lr x batch / 256");
        var e = assertThrows(IllegalArgumentException.class,
                () -> TrainConfig.fromStrings(Map.of("batch", "many"), null));
        assertTrue(e.getMessage().contains("batch") && e.getMessage().contains("many"), e.getMessage());
    }
}
