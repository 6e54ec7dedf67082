package dev.jmoco.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * The {@code jmoco} command. Errors end the program with a one-line cause and a non-zero exit code; the stack
 * trace is printed only with {@code --verbose}.
 */
@Command(name = "jmoco", mixinStandardHelpOptions = true, version = "jmoco 0.1.0",
        description = "Momentum Contrast (MoCo) training engine.",
        subcommands = {TrainCommand.class, ProfileCommand.class, EvalCommand.class, EmbedCommand.class, DevicesCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {
    @Option(names = "--verbose", description = "Print stack traces of errors.", scope = CommandLine.ScopeType.INHERIT)
    boolean verbose;

    public static void main(String[] args) { System.exit(run(args)); }

    /** Runs the command line and returns its exit code (for tests). */
    public static int run(String... args) {
        Main main = new Main();
        CommandLine cli = new CommandLine(main);
        // Built from the data sets' constants, which an annotation cannot hold.
        cli.getSubcommands().get("embed").getCommandSpec().usageMessage().footer(EmbedCommand.normalisationHelp());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            boolean verbose = verbose(parsed);
            if (verbose) e.printStackTrace(cmd.getErr());
            else cmd.getErr().println("jmoco: " + oneLine(e));
            return 1;
        });
        try {
            return cli.execute(args);
        } catch (OutOfMemoryError | StackOverflowError e) {
            // input is checked against limits before allocating; this is the last line of defence
            System.err.println("jmoco: " + (e instanceof OutOfMemoryError
                    ? "out of memory (" + e.getMessage() + "); give the JVM more with JMOCO_JAVA_OPTS=-Xmx..."
                    : "input nested too deeply (stack overflow)"));
            return 1;
        }
    }

    /** Whether --verbose was given to the command or any subcommand (each level has its own parse result). */
    private static boolean verbose(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand())
            if (p.hasMatchedOption("--verbose")) return true;
        return false;
    }

    /** The error as one line; file-system errors, whose message may be a bare path, also say what happened. */
    static String oneLine(Throwable e) {
        if (e instanceof FileSystemException f && f.getReason() == null) {
            String what = switch (f) {
                case NoSuchFileException x -> "no such file or folder";
                case AccessDeniedException x -> "permission denied";
                case FileAlreadyExistsException x -> "already exists";
                case NotDirectoryException x -> "not a folder";
                case DirectoryNotEmptyException x -> "folder not empty";
                default -> f.getClass().getSimpleName();
            };
            return f.getFile() + (f.getOtherFile() != null ? " -> " + f.getOtherFile() : "") + ": " + what;
        }
        String message = e.getMessage();
        String text = message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
        return text.lines().findFirst().orElse(text);
    }
}
