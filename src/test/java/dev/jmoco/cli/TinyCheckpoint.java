package dev.jmoco.cli;

import dev.jmoco.train.TrainConfig;
import dev.jmoco.train.Trainer;

import java.io.IOException;
import java.nio.file.Path;

/** A checkpoint for the eval and embed tests: 1 epoch of the small CNN on 256 Fashion-MNIST images. */
final class TinyCheckpoint {
    static final int LIMIT = 256, KNN_K = 20;

    private TinyCheckpoint() {}

    /** Trains into {@code dir} (kNN on the first 256 test images, k 20) and returns checkpoint.safetensors. */
    static Path train(Path dir) throws IOException {
        TrainConfig config = TrainConfig.builder().device("cpu").limitTrain(LIMIT).limitTest(LIMIT).batch(32)
                .queue(128).bnSplits(4).epochs(1).knnK(KNN_K).workers(1).outDir(dir).build();
        try (Trainer t = Trainer.start(config)) {
            t.train();
        }
        return dir.resolve("checkpoint.safetensors");
    }
}
