package dev.jmoco.data;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;

/**
 * Prepares batches of augmented views on a fixed pool of background threads, ahead of the consumer and in
 * order. An epoch visits the data set in a permutation drawn from (seed, epoch) (or in order, without
 * shuffling); sample i's view v is augmented with the generator of (seed, epoch, i, v), so batches are the
 * same for any thread count and after a resume.
 *
 * <p>Sharded ({@link Builder#shard}, a data-parallel job of N ranks): the epoch's batches are those of one
 * process with a batch of N x {@code batchSize}, and rank r's share of each is its samples r, r + N, r + 2N, ...
 * (what PyTorch's DistributedSampler gives rank r of the same permutation), with the same augmentations.
 *
 * <p>Lab views ({@link Builder#colorSpace}): every view converted to Lab after its augmentation. Lab parts
 * ({@link Builder#labSplit}, CMC's training input; {@link Builder#labChannels}): one augmentation per sample
 * (with the generator of view 0), in Lab, cut into views of its channels: L in view 0 and ab in view 1.
 *
 * <p>Flow: {@link #epoch} returns an iterator that keeps {@code depth} batches in preparation beyond the one
 * the consumer holds. Each batch is split into chunks of samples that the workers take in FIFO order, so the
 * earliest batch is finished first. Buffers are recycled: a batch's {@link Batch#close()} returns it to a
 * free list, and a new buffer is only allocated when none is free (the first {@code depth + 1} batches, or a
 * consumer that keeps batches). The time the consumer spends blocked in {@code next()} is recorded per batch
 * and in total ({@link #waitStats()}), so a trainer can show that it never waits on data.
 *
 * <p>Errors: a worker's exception is rethrown in the consumer as a {@link BatchPreparationException} with the
 * worker's exception as cause. {@link #close()} stops the threads (they are daemons, so a forgotten loader
 * does not keep the JVM alive).
 */
public final class Loader implements AutoCloseable {
    private static final AtomicInteger POOLS = new AtomicInteger();
    /** Chunks per worker per batch: enough to balance uneven workers, few enough to keep tasks coarse. */
    private static final int CHUNKS_PER_THREAD = 2;
    private static final int MIN_CHUNK = 8;

    private final Dataset data;
    private final AugmentationRecipe recipe;
    private final int viewCount, batchSize, threads, depth, rank, ranks;
    private final boolean dropLast, shuffle;
    /** Lab views cut from one augmentation: view v holds channels [parts[v][0], + parts[v][1]); else null. */
    private final int[][] labParts;
    private final ColorSpace colorSpace;
    private final long seed;
    private final int outH, outW, sampleLength;
    private final ExecutorService pool;
    private final String threadPrefix;
    private final ThreadLocal<Augmenter> augmenters;
    private final ThreadLocal<float[]> partScratch; // one augmentation's three Lab planes, before they part
    private final IntConsumer sampleCheck;
    private final boolean skipUndecodable;
    private final AtomicLong skipped = new AtomicLong();
    private volatile String firstSkipped;
    private final ArrayDeque<Batch> free = new ArrayDeque<>();
    private int buffersAllocated;
    private long waitedBatches, waitedNanos, maxWaitNanos;

    private Loader(Builder b) {
        this.data = b.data;
        this.recipe = b.recipe != null ? b.recipe : b.data.evaluationRecipe();
        this.viewCount = b.views;
        this.batchSize = b.batchSize;
        this.rank = b.rank;
        this.ranks = b.ranks;
        this.threads = b.threads;
        this.depth = b.depth;
        this.dropLast = b.dropLast;
        this.shuffle = b.shuffle;
        this.seed = b.seed;
        this.sampleCheck = b.sampleCheck;
        this.skipUndecodable = b.skipUndecodable;
        this.labParts = b.labParts;
        this.colorSpace = b.labParts != null ? ColorSpace.LAB : b.colorSpace;
        this.outH = recipe.outputHeight(data.height());
        this.outW = recipe.outputWidth(data.width());
        this.sampleLength = data.channels() * outH * outW;
        this.colorSpace.requireFits(data);
        this.augmenters = ThreadLocal.withInitial(() -> new Augmenter(recipe, data, colorSpace));
        this.partScratch = ThreadLocal.withInitial(() -> new float[sampleLength]);
        this.threadPrefix = "jmoco-loader-" + POOLS.incrementAndGet() + "-";
        AtomicInteger threadId = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, threadPrefix + threadId.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** A loader over {@code data}; defaults: recipe none, 1 view, batch 256, keep last, no shuffle. */
    public static Builder builder(Dataset data) {
        return new Builder(data);
    }

    public Dataset dataset() { return data; }

    /** Batches per epoch: floor(n / batch) with drop-last, else ceil(n / batch); batch over all ranks. */
    public int batchesPerEpoch() {
        int n = data.size(), global = batchSize * ranks;
        return dropLast ? n / global : (n + global - 1) / global;
    }

    public int batchSize() { return batchSize; }

    public int viewCount() { return viewCount; }

    public int channels() { return data.channels(); }

    /** Channels of view {@code v}: the data set's, or those of its Lab part (L 1, ab 2). */
    public int viewChannels(int v) { return labParts != null ? labParts[v][1] : data.channels(); }

    /** Floats per sample of view {@code v}: viewChannels(v) x viewHeight x viewWidth. */
    public int viewLength(int v) { return viewChannels(v) * outH * outW; }

    /** What the views hold (RGB: the data set's channels; LAB: Lab, whole or split). */
    public ColorSpace colorSpace() { return colorSpace; }

    /** Height of the views. */
    public int viewHeight() { return outH; }

    /** Width of the views. */
    public int viewWidth() { return outW; }

    /** Floats per augmented sample: channels x viewHeight x viewWidth (of every view, unless split). */
    public int sampleLength() { return sampleLength; }

    /** The order in which epoch {@code epoch} visits the data set. */
    public int[] order(int epoch) {
        if (shuffle) return SampleRandom.permutation(seed, epoch, data.size());
        int[] order = new int[data.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        return order;
    }

    /** Iterates epoch {@code epoch} from its first batch. */
    public Epoch epoch(int epoch) {
        return epoch(epoch, 0);
    }

    /** Iterates epoch {@code epoch} from batch {@code firstBatch} (a resume in the middle of an epoch). */
    public Epoch epoch(int epoch, int firstBatch) {
        if (epoch < 0) throw new IllegalArgumentException("epoch must be >= 0: " + epoch);
        if (firstBatch < 0 || firstBatch > batchesPerEpoch())
            throw new IllegalArgumentException("first batch " + firstBatch + " outside [0, " + batchesPerEpoch() + "]");
        if (pool.isShutdown()) throw new IllegalStateException("loader is closed");
        return new Epoch(epoch, firstBatch);
    }

    /** Total consumer waiting so far, over all epochs. */
    public synchronized WaitStats waitStats() {
        return new WaitStats(waitedBatches, waitedNanos, maxWaitNanos);
    }

    /** The name prefix of this loader's threads ("jmoco-loader-P-", P counting loaders in this JVM). */
    String threadPrefix() { return threadPrefix; }

    /** How many batch buffers exist (they are reused; this stops growing once warm). */
    public synchronized int buffersAllocated() { return buffersAllocated; }

    /** Stops the worker threads after the chunks already queued; waits for them briefly. */
    @Override public void close() {
        pool.shutdown();
        try {
            if (!pool.awaitTermination(10, TimeUnit.SECONDS)) pool.shutdownNow();
        } catch (InterruptedException e) {
            pool.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    synchronized void recycle(Batch b) {
        free.push(b);
    }

    private synchronized Batch takeBuffer() {
        Batch b = free.poll();
        if (b != null) return b;
        buffersAllocated++;
        int[] lengths = new int[viewCount];
        for (int v = 0; v < viewCount; v++) lengths[v] = viewLength(v);
        return new Batch(this, lengths, batchSize);
    }

    private synchronized void recordWait(long nanos) {
        waitedBatches++;
        waitedNanos += nanos;
        maxWaitNanos = Math.max(maxWaitNanos, nanos);
    }

    /**
     * Fills samples [from, to) of {@code batch}, whose global batch starts at {@code start} of {@code order}
     * (this rank's sample s is its sample rank + ranks x s). An image in a file is decoded here, on the worker,
     * once for all its views.
     */
    private void fill(Batch batch, int[] order, int start, int from, int to) throws DatasetFormatException {
        Augmenter aug = augmenters.get();
        for (int s = from; s < to; s++) {
            int idx = order[start + rank + ranks * s];
            sampleCheck.accept(idx);
            Dataset.Source src;
            try {
                src = data.source(idx);
            } catch (DatasetFormatException e) {
                if (!skipUndecodable) throw e;
                StandIn in = standIn(idx, e);
                idx = in.index();
                src = in.source();
            }
            batch.labels()[s] = data.label(idx);
            batch.indices()[s] = idx;
            if (labParts != null) {
                float[] lab = partScratch.get();
                aug.augment(src.pixels(), src.offset(), src.height(), src.width(),
                        SampleRandom.forView(seed, batch.epoch(), idx, 0), lab, 0);
                int plane = outH * outW;
                for (int v = 0; v < viewCount; v++) {
                    int length = labParts[v][1] * plane;
                    System.arraycopy(lab, labParts[v][0] * plane, batch.view(v), s * length, length);
                }
                continue;
            }
            for (int v = 0; v < viewCount; v++)
                aug.augment(src.pixels(), src.offset(), src.height(), src.width(),
                        SampleRandom.forView(seed, batch.epoch(), idx, v), batch.view(v), s * sampleLength);
        }
    }

    /**
     * The image that stands in for {@code idx}, which failed with {@code failure}: the next one in data set
     * order that decodes (its label goes with it). Every failure is counted.
     *
     * @throws DatasetFormatException the first failure, when no image of the set decodes
     */
    private StandIn standIn(int idx, DatasetFormatException failure) throws DatasetFormatException {
        DatasetFormatException e = failure;
        for (int k = 1; k <= data.size(); k++) {
            skipped.incrementAndGet();
            if (firstSkipped == null) firstSkipped = e.getMessage();
            if (k == data.size()) break;
            int j = (idx + k) % data.size();
            try {
                return new StandIn(j, data.source(j));
            } catch (DatasetFormatException again) {
                e = again;
            }
        }
        throw failure;
    }

    /** An image in place of one that could not be decoded: its index and its bytes. */
    private record StandIn(int index, Dataset.Source source) {}

    /** Images that could not be decoded and were replaced so far, over all epochs (see Builder#skipUndecodable). */
    public long skippedImages() { return skipped.get(); }

    /** The first such failure's message (it names the file), or null when none. */
    public String firstSkipped() { return firstSkipped; }

    /** The consumer's waiting: number of batches, total and worst wait. */
    public record WaitStats(long batches, long totalNanos, long maxNanos) {
        public double meanMillis() { return batches == 0 ? 0 : totalNanos / 1e6 / batches; }

        public double totalMillis() { return totalNanos / 1e6; }
    }

    /**
     * One pass over the data set. Not thread-safe (one consumer). Closing it before the end waits for the
     * batches in preparation and recycles them; batches already returned stay the consumer's to close.
     */
    public final class Epoch implements Iterator<Batch>, AutoCloseable {
        private final int epoch;
        private final int[] order;
        private final int end;
        private final ArrayDeque<Batch> inFlight = new ArrayDeque<>();
        private int nextToSubmit;
        private boolean closed;

        private Epoch(int epoch, int firstBatch) {
            this.epoch = epoch;
            this.order = order(epoch);
            this.end = batchesPerEpoch();
            this.nextToSubmit = firstBatch;
            while (inFlight.size() < depth && nextToSubmit < end) submit();
        }

        @Override public boolean hasNext() {
            return !closed && !inFlight.isEmpty();
        }

        /** The next batch, blocking until it is ready; the caller closes it when done with it. */
        @Override public Batch next() {
            if (!hasNext()) throw new NoSuchElementException("epoch " + epoch + " has no more batches");
            Batch b = inFlight.poll();
            if (nextToSubmit < end) submit(); // keep depth batches in preparation while the consumer works
            long t0 = System.nanoTime();
            Throwable failure = b.awaitReady();
            long waited = System.nanoTime() - t0;
            b.setWaitNanos(waited);
            recordWait(waited);
            if (failure != null) {
                b.close();
                close();
                throw new BatchPreparationException("preparing batch " + b.index() + " of epoch " + epoch
                        + " failed: " + failure, failure);
            }
            return b;
        }

        /** Epoch number. */
        public int epoch() { return epoch; }

        @Override public void close() {
            if (closed) return;
            closed = true;
            for (Batch b : inFlight) {
                b.awaitReady();
                b.close();
            }
            inFlight.clear();
        }

        private void submit() {
            int index = nextToSubmit++;
            int start = index * batchSize * ranks;
            int size = Math.min(batchSize, data.size() - start); // sharded loaders drop the last batch: never short
            int chunk = Math.max(MIN_CHUNK, (size + threads * CHUNKS_PER_THREAD - 1) / (threads * CHUNKS_PER_THREAD));
            int chunks = (size + chunk - 1) / chunk;
            Batch b = takeBuffer();
            b.start(epoch, index, size, chunks);
            inFlight.add(b);
            for (int from = 0; from < size; from += chunk) {
                int lo = from, hi = Math.min(size, from + chunk);
                try {
                    pool.execute(() -> {
                        Throwable error = null;
                        try {
                            fill(b, order, start, lo, hi);
                        } catch (Throwable t) {
                            error = t;
                        }
                        b.chunkDone(error);
                    });
                } catch (RejectedExecutionException e) {
                    b.chunkDone(new IllegalStateException("loader is closed", e));
                }
            }
        }
    }

    /** Settings of a {@link Loader}. */
    public static final class Builder {
        private final Dataset data;
        private AugmentationRecipe recipe;
        private int views = 1, batchSize = 256, threads = Runtime.getRuntime().availableProcessors(), depth = 3;
        private int rank, ranks = 1;
        private boolean dropLast, shuffle;
        private long seed;
        private IntConsumer sampleCheck = index -> {};
        private boolean skipUndecodable;
        private int[][] labParts;
        private ColorSpace colorSpace = ColorSpace.RGB;

        private Builder(Dataset data) {
            this.data = data;
        }

        /** The views' recipe (default: the data set's {@link Dataset#evaluationRecipe()}). */
        public Builder recipe(AugmentationRecipe recipe) { this.recipe = recipe; return this; }

        /** What the views hold (default RGB: the data set's channels; LAB needs colour images). */
        public Builder colorSpace(ColorSpace space) { this.colorSpace = space; return this; }

        /**
         * CMC's training input: two views per sample split from one Lab augmentation, L (view 0, one channel) and
         * ab (view 1, two channels).
         */
        public Builder labSplit() {
            this.labParts = new int[][] {{0, 1}, {1, 2}};
            return views(2);
        }

        /**
         * One view per sample of Lab channels [first, first + count) (L: 0, 1; ab: 1, 2): what one of CMC's two
         * encoders sees, to fine-tune it alone.
         */
        public Builder labChannels(int first, int count) {
            if (first < 0 || count < 1 || first + count > 3)
                throw new IllegalArgumentException("Lab channels [" + first + ", " + (first + count) + ") are not in [0, 3)");
            this.labParts = new int[][] {{first, count}};
            return views(1);
        }

        /** Views per sample: 2 for MoCo's query and key, 1 for evaluation. */
        public Builder views(int views) { this.views = views; return this; }

        public Builder batchSize(int batchSize) { this.batchSize = batchSize; return this; }

        /** Drop the last short batch (training, as MoCo does) or keep it (evaluation). */
        public Builder dropLast(boolean dropLast) { this.dropLast = dropLast; return this; }

        /** Visit each epoch in a permutation drawn from (seed, epoch), else in data set order. */
        public Builder shuffle(boolean shuffle) { this.shuffle = shuffle; return this; }

        public Builder seed(long seed) { this.seed = seed; return this; }

        /** Worker threads (default: the number of cores). */
        public Builder threads(int threads) { this.threads = threads; return this; }

        /** Batches prepared ahead of the consumer, 1..8 (default 3). */
        public Builder depth(int depth) { this.depth = depth; return this; }

        /**
         * What an image that cannot be decoded does: fail its batch, naming the file (false, the default), or
         * be replaced by the next image in data set order that decodes, and counted ({@link #skippedImages}).
         */
        public Builder skipUndecodable(boolean skip) { this.skipUndecodable = skip; return this; }

        /**
         * Loads rank {@code rank}'s share of each batch of a job of {@code ranks} ranks: {@link #batchSize} is then
         * the share, of a global batch {@code ranks} times as large. Needs drop-last (training).
         */
        public Builder shard(int rank, int ranks) {
            this.rank = rank;
            this.ranks = ranks;
            return this;
        }

        /** Runs in the worker before each sample is prepared; tests inject failures with it. */
        Builder sampleCheck(IntConsumer check) { this.sampleCheck = check; return this; }

        /** Training: two views, shuffled, drop last. */
        public Builder training(AugmentationRecipe recipe, long seed) {
            return recipe(recipe).views(2).shuffle(true).dropLast(true).seed(seed);
        }

        public Loader build() {
            if (views < 1) throw new IllegalArgumentException("views must be >= 1: " + views);
            if (labParts != null && views != labParts.length)
                throw new IllegalArgumentException("Lab parts give " + labParts.length + " view(s), not " + views);
            if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1: " + batchSize);
            if (ranks < 1 || rank < 0 || rank >= ranks)
                throw new IllegalArgumentException("shard: rank " + rank + " is not one of " + ranks + " ranks");
            if (ranks > 1 && !dropLast)
                throw new IllegalArgumentException("shard: a sharded loader must drop the last batch (its shares "
                        + "would differ in size)");
            if (dropLast && (long) batchSize * ranks > data.size())
                throw new IllegalArgumentException("batch size " + (long) batchSize * ranks + " is larger than the "
                        + "data set (" + data.size() + " images of " + data.name() + "): an epoch would have no batch");
            if (threads < 1) throw new IllegalArgumentException("threads must be >= 1: " + threads);
            if (depth < 1 || depth > 8) throw new IllegalArgumentException("depth must be in [1, 8]: " + depth);
            return new Loader(this);
        }
    }
}
