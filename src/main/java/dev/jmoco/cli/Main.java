package dev.jmoco.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code jmoco} command. Errors end the program with a one-line cause and a non-zero exit code; the stack
 * trace is printed only with {@code --verbose}.
 */
@Command(name = "jmoco", mixinStandardHelpOptions = true, version = "jmoco 0.1.0",
        description = "Momentum Contrast (MoCo) training engine.",
        subcommands = {TrainCommand.class, EvalCommand.class, EmbedCommand.class, DevicesCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {
    /** The help text of every command's {@code --device}. */
    static final String DEVICE_HELP = "auto (the best that runs here), cpu, opencl, opencl:cpu, "
            + "cuda[:N][:kernels][:tf32][:portable][:profile]; `jmoco devices` lists what runs here.";

    @Option(names = "--verbose", description = "Print stack traces of errors.", scope = CommandLine.ScopeType.INHERIT)
    boolean verbose;

    public static void main(String[] args) { System.exit(run(args)); }

    /** Runs the command line and returns its exit code (for tests). */
    public static int run(String... args) {
        Main main = new Main();
        CommandLine cli = new CommandLine(main);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            boolean verbose = verbose(parsed);
            if (verbose) e.printStackTrace(cmd.getErr());
            else cmd.getErr().println("jmoco: " + oneLine(e));
            return 1;
        });
        return cli.execute(args);
    }

    /** Whether --verbose was given to the command or any subcommand (each level has its own parse result). */
    private static boolean verbose(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand())
            if (p.hasMatchedOption("--verbose")) return true;
        return false;
    }

    private static String oneLine(Throwable e) {
        String message = e.getMessage();
        String text = message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
        return text.lines().findFirst().orElse(text);
    }
}
