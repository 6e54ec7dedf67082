package dev.jmoco.train;

import dev.jmoco.backend.Backend;
import dev.jmoco.eval.FeatureExtractor;
import dev.jmoco.nn.Encoder;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The two encoders of a Contrastive Multiview Coding run ({@code --views lab}): L's (one input channel) and
 * ab's (two), and what evaluation reads from them. Inputs are Lab images [n, 3, h, w], normalised as in training
 * ({@code ColorSpace.LAB}); each encoder sees its channels, and the features are L's, ab's, or both
 * concatenated per image as [L | ab] (CMC's evaluation; the default).
 */
public final class LabEncoders implements AutoCloseable {
    /** Which view's features: L's, ab's, or both concatenated. */
    public enum Choice {
        L, AB, BOTH;

        /** "l", "ab" or "both" (case-insensitive). */
        public static Choice parse(String name) {
            return switch (name.toLowerCase(Locale.ROOT)) {
                case "l" -> L;
                case "ab" -> AB;
                case "both" -> BOTH;
                default -> throw new IllegalArgumentException("unknown view '" + name + "' (l, ab, both)");
            };
        }

        /** As the command line spells it. */
        public String cliName() { return name().toLowerCase(Locale.ROOT); }

        /** The first Lab channel this view reads (L 0, ab 1, both 0). */
        public int firstChannel() { return this == AB ? 1 : 0; }

        /** The Lab channels this view reads (L 1, ab 2, both 3). */
        public int channels() { return this == L ? 1 : this == AB ? 2 : 3; }
    }

    private final Encoder l, ab;
    private final boolean owned;

    private LabEncoders(Encoder l, Encoder ab, boolean owned) {
        if (l.architecture().inChannels() != 1 || ab.architecture().inChannels() != 2)
            throw new IllegalArgumentException("lab encoders take 1 (L) and 2 (ab) channels, not "
                    + l.architecture().inChannels() + " and " + ab.architecture().inChannels());
        this.l = l;
        this.ab = ab;
        this.owned = owned;
    }

    /** A view of a run's two encoders; closing it leaves them open. */
    static LabEncoders of(Encoder l, Encoder ab) { return new LabEncoders(l, ab, false); }

    /**
     * Both f_q of a lab checkpoint ({@code encoder_q.*} and {@code ab.encoder_q.*}), in new arenas on
     * {@code backend} that {@link #close} releases.
     */
    public static LabEncoders load(Path checkpoint, String family, Backend backend) throws IOException {
        Encoder l = EncoderFiles.load(checkpoint, family, backend);
        try {
            return new LabEncoders(l, EncoderFiles.loadAb(checkpoint, family, backend), true);
        } catch (IOException | RuntimeException e) {
            l.arena().close();
            throw e;
        }
    }

    /** Features per image of {@code choice}. */
    public int featureDim(Choice choice) {
        return switch (choice) {
            case L -> l.featureDim();
            case AB -> ab.featureDim();
            case BOTH -> l.featureDim() + ab.featureDim();
        };
    }

    /** Projections per image of {@code choice} (each view's normalised on its own, then concatenated). */
    public int dim(Choice choice) {
        int dl = l.architecture().outputDim(), dab = ab.architecture().outputDim();
        return switch (choice) {
            case L -> dl;
            case AB -> dab;
            case BOTH -> dl + dab;
        };
    }

    /** The id of {@code choice}'s architecture (both: "L + ab"). */
    public String id(Choice choice) {
        return switch (choice) {
            case L -> l.id();
            case AB -> ab.id();
            case BOTH -> l.id() + " + " + ab.id();
        };
    }

    /** The backbones' features of {@code choice} for Lab images of height x width (eval mode). */
    public FeatureExtractor backbone(Choice choice, int height, int width) {
        FeatureExtractor fl = Features.backbone(l, 1, height, width), fab = Features.backbone(ab, 2, height, width);
        return switch (choice) {
            case L, AB -> onPart(choice == Choice.L ? fl : fab, choice, height, width);
            case BOTH -> (images, count) -> {
                float[][] views = split(images, count, height * width);
                return concatRows(fl.extract(views[0], count), l.featureDim(), fab.extract(views[1], count),
                        ab.featureDim(), count);
            };
        };
    }

    /** {@code f}, an extractor of L's or of ab's channels ({@code part}), applied to Lab images of height x width. */
    public static FeatureExtractor onPart(FeatureExtractor f, Choice part, int height, int width) {
        if (part == Choice.BOTH) throw new IllegalArgumentException("one part, L or ab, not both");
        int plane = height * width, from = part.firstChannel() * plane, length = part.channels() * plane;
        return (images, count) -> {
            float[] channels = new float[count * length];
            for (int i = 0; i < count; i++) System.arraycopy(images, i * 3 * plane + from, channels, i * length, length);
            return f.extract(channels, count);
        };
    }

    /** {@link Features#embed}'s features and projections of {@code choice} for Lab images [n, 3, h, w]. */
    public float[][] embed(float[] images, int[] shape, Choice choice) {
        int n = shape[0], h = shape[2], w = shape[3];
        float[][] views = split(images, n, h * w);
        float[][] el = choice == Choice.AB ? null : Features.embed(l, views[0], new int[] {n, 1, h, w});
        float[][] eab = choice == Choice.L ? null : Features.embed(ab, views[1], new int[] {n, 2, h, w});
        if (el == null) return eab;
        if (eab == null) return el;
        return new float[][] {concatRows(el[0], l.featureDim(), eab[0], ab.featureDim(), n),
                concatRows(el[1], l.architecture().outputDim(), eab[1], ab.architecture().outputDim(), n)};
    }

    /** The L planes [n, 1, h, w] and ab planes [n, 2, h, w] of Lab images [n, 3, h, w]. */
    static float[][] split(float[] images, int n, int plane) {
        float[] lv = new float[n * plane], abv = new float[n * 2 * plane];
        for (int i = 0; i < n; i++) {
            System.arraycopy(images, i * 3 * plane, lv, i * plane, plane);
            System.arraycopy(images, i * 3 * plane + plane, abv, i * 2 * plane, 2 * plane);
        }
        return new float[][] {lv, abv};
    }

    /** Rows [a_i | b_i] of a [n, da] and b [n, db]. */
    static float[] concatRows(float[] a, int da, float[] b, int db, int n) {
        float[] out = new float[n * (da + db)];
        for (int i = 0; i < n; i++) {
            System.arraycopy(a, i * da, out, i * (da + db), da);
            System.arraycopy(b, i * db, out, i * (da + db) + da, db);
        }
        return out;
    }

    /** Releases the arenas when loaded here ({@link #load}); a run's encoders stay open. */
    @Override
    public void close() {
        if (!owned) return;
        l.arena().close();
        ab.arena().close();
    }
}
