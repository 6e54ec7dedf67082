package dev.jmoco.data;

import dev.jmoco.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A seeded, class-balanced fraction of a labelled set, as the semi-supervised protocols take it (CPC v2 and
 * SimCLR: 1% and 10% of ImageNet's labels): from each class, round(fraction x its images) of them (at least
 * one), drawn without replacement by a generator of the seed alone, so the same seed gives the same subset.
 *
 * @param fraction  the fraction asked for, in (0, 1]
 * @param seed      the seed it was drawn with
 * @param indices   the chosen images' indices in the set, ascending
 * @param perClass  how many of each class
 */
public record LabelSubset(double fraction, long seed, int[] indices, int[] perClass) {

    /**
     * The subset of {@code labels} (one per image, classes 0 .. classes - 1).
     *
     * @throws IllegalArgumentException for a fraction outside (0, 1]
     */
    public static LabelSubset balanced(int[] labels, int classes, double fraction, long seed) {
        if (!(fraction > 0 && fraction <= 1))
            throw new IllegalArgumentException("label fraction must be in (0, 1], got " + fraction);
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < classes; c++) byClass.add(new ArrayList<>());
        for (int i = 0; i < labels.length; i++) byClass.get(labels[i]).add(i);
        SplittableRandom random = new SplittableRandom(seed);
        int[] perClass = new int[classes];
        List<Integer> chosen = new ArrayList<>();
        for (int c = 0; c < classes; c++) {
            List<Integer> members = byClass.get(c);
            if (members.isEmpty()) continue;
            int take = (int) Math.max(1, Math.round(fraction * members.size()));
            for (int i = 0; i < take; i++) { // partial Fisher-Yates: the first take of a random order
                int j = i + random.nextInt(members.size() - i);
                Integer t = members.get(i);
                members.set(i, members.get(j));
                members.set(j, t);
                chosen.add(members.get(i));
            }
            perClass[c] = take;
        }
        int[] indices = chosen.stream().mapToInt(Integer::intValue).sorted().toArray();
        return new LabelSubset(fraction, seed, indices, perClass);
    }

    /**
     * The subset in {@code file}, as an evaluation wrote it beside its result (fraction, seed, indices), for a
     * set of {@code labels}: the indices must be distinct images of the set, ascending; the counts per class are
     * those of the set's labels.
     *
     * @throws IOException              if the file cannot be read
     * @throws IllegalArgumentException naming the file and the field that is missing or wrong
     */
    public static LabelSubset read(Path file, int[] labels, int classes) throws IOException {
        Object parsed;
        try {
            parsed = Json.parse(Files.readString(file));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": not a label subset (" + e.getMessage() + ")");
        }
        if (!(parsed instanceof Map<?, ?> m) || !(m.get("indices") instanceof List<?> list)
                || !(m.get("fraction") instanceof Number fraction) || !(m.get("seed") instanceof Long seed))
            throw new IllegalArgumentException(file + ": a label subset needs the fields fraction, seed and indices");
        int[] indices = new int[list.size()], perClass = new int[classes];
        for (int i = 0; i < indices.length; i++) {
            if (!(list.get(i) instanceof Long v) || v < 0 || v >= labels.length || (i > 0 && v <= indices[i - 1]))
                throw new IllegalArgumentException(file + ": indices[" + i + "] = " + list.get(i) + " is not an image of "
                        + "the " + labels.length + " training images in ascending order");
            indices[i] = (int) (long) v;
            perClass[labels[indices[i]]]++;
        }
        if (indices.length == 0) throw new IllegalArgumentException(file + ": indices is empty");
        return new LabelSubset(fraction.doubleValue(), seed, indices, perClass);
    }

    /** The subset of {@code data}'s labels. */
    public static LabelSubset balanced(Dataset data, double fraction, long seed) {
        return balanced(data.labels(), data.numClasses(), fraction, seed);
    }

    /** The chosen images of {@code data}. */
    public Dataset of(Dataset data) { return indices.length == data.size() ? data : data.select(indices); }

    public int size() { return indices.length; }

    @Override public int[] indices() { return indices.clone(); }
    @Override public int[] perClass() { return perClass.clone(); }

    @Override
    public boolean equals(Object o) {
        return o instanceof LabelSubset s && fraction == s.fraction && seed == s.seed
                && Arrays.equals(indices, s.indices) && Arrays.equals(perClass, s.perClass);
    }

    @Override public int hashCode() { return Arrays.hashCode(indices); }

    @Override public String toString() { return "LabelSubset[" + fraction + ", seed " + seed + ", " + size() + " images]"; }
}
