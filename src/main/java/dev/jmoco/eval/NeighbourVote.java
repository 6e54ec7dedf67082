package dev.jmoco.eval;

import java.util.Arrays;

/**
 * One query row's kNN vote: selects the k largest similarities of the row with a bounded min-heap, then sums
 * exp(sim / t) per class. Reusable across rows of one thread (holds the heap and the class scores).
 *
 * <p>Heap order: the root is the worst kept neighbour, "worst" meaning the smaller similarity or, for equal
 * similarities, the larger bank index. Rows are scanned in index order, so a later row with a similarity equal
 * to the root's is rejected by the strict comparison, and lower indices win ties.
 */
final class NeighbourVote {
    private final int k;
    private final float[] heapSim;
    private final int[] heapIndex;
    private final double[] scores;

    NeighbourVote(int k, int classes) {
        this.k = k;
        this.heapSim = new float[k];
        this.heapIndex = new int[k];
        this.scores = new double[classes];
    }

    /** The predicted class of the row sim[from, from + n), whose entry j is the similarity to bank row j. */
    int predict(float[] sim, int from, int n, int[] labels, float temperature) {
        for (int j = 0; j < k; j++) siftUp(j, sim[from + j], j);
        float min = heapSim[0];
        for (int j = k; j < n; j++) {
            float s = sim[from + j];
            if (s > min) {              // most rows fail this test: the scan is one compare per bank row
                siftDown(s, j);
                min = heapSim[0];
            }
        }
        Arrays.fill(scores, 0);
        // exp in double from the float similarity: weights reach e^10 at t = 0.1, far inside double's range
        for (int j = 0; j < k; j++) scores[labels[heapIndex[j]]] += Math.exp(heapSim[j] / (double) temperature);
        int best = 0;
        for (int c = 1; c < scores.length; c++) if (scores[c] > scores[best]) best = c;
        return best;
    }

    private static boolean worse(float simA, int indexA, float simB, int indexB) {
        return simA < simB || (simA == simB && indexA > indexB);
    }

    /** Inserts (s, index) at position pos of a heap of pos entries. */
    private void siftUp(int pos, float s, int index) {
        while (pos > 0) {
            int parent = (pos - 1) >>> 1;
            if (!worse(s, index, heapSim[parent], heapIndex[parent])) break;
            heapSim[pos] = heapSim[parent];
            heapIndex[pos] = heapIndex[parent];
            pos = parent;
        }
        heapSim[pos] = s;
        heapIndex[pos] = index;
    }

    /** Replaces the root (the worst kept neighbour) with (s, index) and restores the heap. */
    private void siftDown(float s, int index) {
        int pos = 0;
        while (true) {
            int child = 2 * pos + 1;
            if (child >= k) break;
            if (child + 1 < k && worse(heapSim[child + 1], heapIndex[child + 1], heapSim[child], heapIndex[child]))
                child++;
            if (!worse(heapSim[child], heapIndex[child], s, index)) break;
            heapSim[pos] = heapSim[child];
            heapIndex[pos] = heapIndex[child];
            pos = child;
        }
        heapSim[pos] = s;
        heapIndex[pos] = index;
    }
}
