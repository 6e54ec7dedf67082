import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.File;
import java.util.Map;
import java.util.TreeMap;

/**
 * The last lines of a CI run: counts from the Surefire reports, every skip grouped by its reason, and one
 * line saying plainly whether all is well. Run as a source file: java .ci/TestSummary.java target/surefire-reports
 */
public class TestSummary {
    public static void main(String[] args) throws Exception {
        File dir = new File(args[0]);
        File[] reports = dir.listFiles((d, n) -> n.startsWith("TEST-") && n.endsWith(".xml"));
        if (reports == null || reports.length == 0) {
            System.out.println("CI: NOT WELL - no test reports in " + dir + " (the build failed before the tests ran)");
            System.exit(1);
        }
        int tests = 0, failures = 0, errors = 0, skipped = 0;
        Map<String, Integer> reasons = new TreeMap<>();
        Map<String, Integer> failed = new TreeMap<>();
        var factory = DocumentBuilderFactory.newInstance();
        for (File f : reports) {
            Element suite = factory.newDocumentBuilder().parse(f).getDocumentElement();
            tests += Integer.parseInt(suite.getAttribute("tests"));
            failures += Integer.parseInt(suite.getAttribute("failures"));
            errors += Integer.parseInt(suite.getAttribute("errors"));
            skipped += Integer.parseInt(suite.getAttribute("skipped"));
            NodeList cases = suite.getElementsByTagName("testcase");
            for (int i = 0; i < cases.getLength(); i++) {
                Element c = (Element) cases.item(i);
                String name = c.getAttribute("classname") + "." + c.getAttribute("name");
                if (c.getElementsByTagName("failure").getLength() + c.getElementsByTagName("error").getLength() > 0)
                    failed.merge(name, 1, Integer::sum);
                NodeList skips = c.getElementsByTagName("skipped");
                if (skips.getLength() > 0) reasons.merge(reason((Element) skips.item(0)), 1, Integer::sum);
            }
        }
        System.out.printf("tests: %d run, %d failed, %d errors, %d skipped%n", tests, failures, errors, skipped);
        if (skipped > 0) {
            System.out.println("skipped, by reason (each needs hardware or a library this machine lacks):");
            reasons.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue())
                    .forEach(e -> System.out.printf("  %4d  %s%n", e.getValue(), e.getKey()));
        }
        failed.keySet().forEach(n -> System.out.println("  FAILED " + n));
        boolean well = failures + errors == 0;
        System.out.println(well ? "CI: ALL WELL - every test that can run here passed (" + (tests - skipped) + " of "
                + tests + "; the skips are listed above with their reasons)"
                : "CI: NOT WELL - " + (failures + errors) + " tests failed (listed above)");
        System.exit(well ? 0 : 1);
    }

    /** The first line of the skip's message, without the exception's class name. */
    private static String reason(Element skip) {
        String text = skip.getAttribute("message");
        if (text.isEmpty()) text = skip.getTextContent();
        text = text.strip();
        int nl = text.indexOf('\n');
        if (nl >= 0) text = text.substring(0, nl);
        text = text.replaceFirst("^[\\w.$]+(Exception|Error): ", "");
        return text.length() > 140 ? text.substring(0, 137) + "..." : text;
    }
}
