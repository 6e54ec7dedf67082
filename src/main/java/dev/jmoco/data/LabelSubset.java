package dev.jmoco.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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

    /** The subset of {@code data}'s labels. */
    public static LabelSubset balanced(Dataset data, double fraction, long seed) {
        return balanced(data.labels(), data.numClasses(), fraction, seed);
    }

    /** The chosen images of {@code data}. */
    public Dataset of(Dataset data) { return fraction == 1 ? data : data.select(indices); }

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
