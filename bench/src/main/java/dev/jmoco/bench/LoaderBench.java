package dev.jmoco.bench;

import dev.jmoco.data.AugmentationRecipe;
import dev.jmoco.data.Batch;
import dev.jmoco.data.Dataset;
import dev.jmoco.data.Datasets;
import dev.jmoco.data.Loader;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The loader on an image folder as a training run drives it: one batch of {@code batch} images, each decoded
 * from its JPEG on a loader thread and augmented twice (MoCo v2, blur included) to {@code size} x {@code size},
 * per call, in milliseconds; images/s = batch / score. The consumer only takes and returns batches, so the
 * score is the loader's own rate with {@code workers} threads. {@code dir}: a folder of class folders
 * (tools/make_image_folder.py --size 500x375 writes one); bench/loader_compare.py runs this beside
 * torchvision's DataLoader on the same files and workers and prints images/s per thread.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 4)
@Measurement(iterations = 5, time = 4)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class LoaderBench {
    @Param({""}) public String dir;
    @Param({"1", "2"}) public int workers;
    @Param({"224"}) public int size;
    @Param({"64"}) public int batch;

    private Loader loader;
    private Loader.Epoch epoch;
    private int epochs;

    @Setup
    public void setup() throws IOException {
        if (dir.isEmpty()) throw new IllegalArgumentException("LoaderBench needs -p dir=FOLDER (tools/make_image_folder.py)");
        Dataset data = Datasets.open("folder", Path.of(dir), "train", size);
        loader = Loader.builder(data).training(AugmentationRecipe.v2(0), 1).batchSize(batch).threads(workers).build();
        epoch = loader.epoch(epochs++);
    }

    @Benchmark
    public int oneBatch() {
        if (!epoch.hasNext()) {
            epoch.close();
            epoch = loader.epoch(epochs++);
        }
        try (Batch b = epoch.next()) {
            return b.size();
        }
    }

    @TearDown
    public void tearDown() {
        epoch.close();
        loader.close();
    }
}
