package dev.jmoco.backend;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/** Finds backends through {@link ServiceLoader} and creates the one asked for ("auto" picks by rank). */
public final class Backends {
    private Backends() {}

    /** All providers on the class path, highest rank first. */
    public static List<BackendProvider> providers() {
        List<BackendProvider> list = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class).forEach(list::add);
        list.sort(Comparator.comparingInt(BackendProvider::rank).reversed());
        return list;
    }

    /**
     * Whether {@code p} can run here with {@code option}. A program that embeds jmoco may leave a backend's
     * binding (JCuda, JOCL) off its class path: that backend is then unavailable, saying which class is
     * missing, and the others still run.
     */
    public static BackendProvider.Availability availability(BackendProvider p, String option) {
        try {
            return p.availability(option);
        } catch (NoClassDefFoundError e) {
            return BackendProvider.Availability.no("its binding is not on the class path (" + e.getMessage()
                    .replace('/', '.') + " missing)");
        }
    }

    /** What {@code p} says about itself ({@link BackendProvider#describe}); nothing when its binding is missing. */
    public static List<String> describe(BackendProvider p) {
        try {
            return p.describe();
        } catch (NoClassDefFoundError e) {
            return List.of();
        }
    }

    /**
     * {@code device} with "auto" replaced by the backend it would create ("auto:tf32" on a GPU machine:
     * "cuda:tf32"), for what depends on the backend before it exists (a rank's GPU); any other value as is.
     */
    public static String resolve(String device) {
        String name = device.contains(":") ? device.substring(0, device.indexOf(':')) : device;
        if (!name.equals("auto")) return device;
        for (BackendProvider p : providers())
            if (availability(p, "").available()) return p.name() + device.substring(name.length());
        return device;
    }

    /**
     * Creates the backend named by a {@code --device} value: "auto", "cpu", or "name[:option]".
     *
     * @throws IllegalArgumentException naming the known backends if none matches, or saying why the named
     *                                  one cannot run here
     */
    public static Backend create(String device) {
        String name = device.contains(":") ? device.substring(0, device.indexOf(':')) : device;
        String option = device.contains(":") ? device.substring(device.indexOf(':') + 1) : "";
        List<BackendProvider> providers = providers();
        if (name.equals("auto")) {
            for (BackendProvider p : providers)
                if (availability(p, "").available()) return p.create(option);
            throw new IllegalStateException("no backend can run here");
        }
        for (BackendProvider p : providers) {
            if (!p.name().equals(name)) continue;
            BackendProvider.Availability a = availability(p, option);
            if (!a.available())
                throw new IllegalArgumentException("device '" + device + "' cannot run here: " + a.reason());
            return p.create(option);
        }
        throw new IllegalArgumentException("unknown device '" + device + "'; known: "
                + providers.stream().map(BackendProvider::name).toList() + " and auto");
    }
}
