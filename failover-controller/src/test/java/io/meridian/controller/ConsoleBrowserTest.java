package io.meridian.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console in a real browser (Debian's headless chromium through chromedriver) against a real controller on
 * an ephemeral port: sign-in with good and bad tokens, every region with its state, each client zone's traffic
 * drawn to its region, capacity readiness, a drain previewed then applied (by keyboard), the map and bars
 * following the event stream, a refusal rendered, the explain form, a viewer's disabled buttons, 401 without a
 * token, the streams reconnecting after a controller restart, a narrow window, and the page's load time (printed,
 * not asserted). Screenshots go to target/console-screenshots/. Without chromium the test skips, except under
 * CI=true.
 */
@ExtendWith(VertxExtension.class)
class ConsoleBrowserTest {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final Path SHOTS = Path.of("target", "console-screenshots");
  /** How long a wait may take before the test fails; every wait ends as soon as its condition holds. */
  private static final Duration PATIENCE = Duration.ofSeconds(30);

  private ChromeDriver browser;
  private WebDriverWait wait;

  @BeforeEach
  void startBrowser() throws Exception {
    boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    if (!present) {
      String why = "no " + CHROMIUM + " or " + CHROMEDRIVER + " (apt-get install chromium chromium-driver)";
      if ("true".equals(System.getenv("CI"))) {
        fail("CI=true needs a real browser: " + why);
      }
      Assumptions.assumeTrue(false, "ConsoleBrowserTest skipped: " + why);
    }
    ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile())
        // root in a container has no user namespace for chromium's sandbox; /dev/shm there is often 64 MB
        .addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800");
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
        .usingAnyFreePort().build();
    browser = new ChromeDriver(service, options);
    // the page re-renders a region's card on every event: an element found a moment ago may be replaced
    wait = (WebDriverWait) new WebDriverWait(browser, PATIENCE).ignoring(StaleElementReferenceException.class);
    Files.createDirectories(SHOTS);
  }

  @AfterEach
  void stopBrowser() {
    if (browser != null) {
      browser.quit();
    }
  }

  @Test
  void operatorSeesRegionsPreviewsAndDrainsLive(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "demand_estimates: {39N78W: 600, 45N122W: 500}\n",
        TestDeployment.tokensYaml() + ClientExplainTest.GEO, TestDeployment.regionsWithDns())) {
      d.report(List.of("vp-frankfurt", "vp-virginia"), List.of());
      d.evaluate();
      browser.get(d.baseUrl() + "/console");

      signIn("wrong-token");
      WebElement error = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("login-error")));
      wait.until(ExpectedConditions.textToBePresentInElement(error, "Token refused (401"));
      assertFalse(browser.findElement(By.id("app")).isDisplayed(), "a refused token must not show the console");
      shot("wrong-token");

      signIn("operator-token");
      for (String region : List.of("us-east", "us-west", "us-central", "eu-west")) {
        waitLifecycle(region, "active");
        assertEquals("active", browser.findElement(By.id("map-" + region)).getAttribute("data-lifecycle"));
      }
      // health per vantage point comes from the observations stream
      wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("region-us-east"), "vp-frankfurt: healthy"));
      assertTrue(text("who").contains("olga (operator)"), text("who"));
      // planned load from the plan, measured load from a proxy's traffic report
      wait.until(ExpectedConditions.attributeToBe(By.cssSelector("#region-us-east .bar.planned"), "aria-valuenow",
          "600"));
      d.bus.publishTraffic(new io.meridian.core.TrafficReport("proxy-1", d.clock.instant(), java.util.Map.of(),
          java.util.Map.of("us-east", 123.0), java.util.Map.of(), java.util.Map.of()));
      wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("region-us-east"), "measured 123 rps"));
      // each client zone's traffic is drawn to the region serving it
      wait.until(ExpectedConditions.presenceOfElementLocated(flow("39N78W", "us-east")));
      wait.until(ExpectedConditions.presenceOfElementLocated(flow("45N122W", "us-west")));
      // capacity readiness: any one region can fail now, the other three have room for its traffic
      for (String region : List.of("us-east", "us-west", "us-central", "eu-west")) {
        wait.until(ExpectedConditions.attributeToBe(By.cssSelector("#region-" + region + " .readiness"), "data-ready",
            "true"));
      }
      shot("signed-in");

      // drain us-west without the mouse: the button by Enter, the reason typed, Enter previews, Enter confirms
      wait.until(ExpectedConditions.elementToBeClickable(By.cssSelector("[data-action=drain][data-region=us-west]")))
          .sendKeys(Keys.ENTER);
      assertEquals("reason", focused(), "the form takes the focus");
      assertFalse(browser.findElement(By.id("confirm")).isEnabled(), "confirm before a preview");
      browser.switchTo().activeElement().sendKeys("kernel upgrade", Keys.ENTER);
      WebElement preview = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("preview-table")));
      assertEquals(4, preview.findElements(By.cssSelector("tbody tr")).size(), preview.getText());
      assertTrue(text("preview-result").contains("Dry run: drain us-west"), text("preview-result"));
      assertEquals("active", lifecycle("us-west"), "a dry run changed the region");
      assertEquals("ACTIVE", regionLifecycle(d, "us-west"), "a dry run changed the controller");
      wait.until(b -> "confirm".equals(focused()));
      shot("drain-preview");

      browser.switchTo().activeElement().sendKeys(Keys.ENTER);
      wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("action-result"), "Applied: drain us-west"));
      wait.until(b -> !"active".equals(lifecycle("us-west")));
      // the admin event arrives through /v1/events
      wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("events"), "admin_drain"));
      // the drain runs its steps (drain_interval 10 s on the test's clock); the page follows from the stream:
      // us-west's bar empties and Oregon's zone is drawn to another region
      for (int i = 0; i < 8 && !"DRAINED".equals(regionLifecycle(d, "us-west")); i++) {
        d.clock.advance(Duration.ofSeconds(10));
        d.evaluate();
      }
      assertEquals("DRAINED", regionLifecycle(d, "us-west"));
      waitLifecycle("us-west", "drained");
      wait.until(ExpectedConditions.attributeToBe(By.cssSelector("#region-us-west .bar.planned"), "aria-valuenow", "0"));
      wait.until(b -> b.findElements(flow("45N122W", "us-west")).isEmpty()
          && !b.findElements(By.cssSelector("line.flow[data-zone='45N122W']")).isEmpty());
      assertEquals("drained", browser.findElement(By.id("map-us-west")).getAttribute("data-lifecycle"));

      // a change the page did not ask for (both vantage points see us-east down) reaches it only through the
      // event stream; us-central and eu-west now carry all 1,100 rps, and neither could fail without 300 rps
      // finding no region within headroom
      d.report(List.of("vp-frankfurt", "vp-virginia"), List.of("us-east"));
      d.evaluate();
      waitLifecycle("us-east", "failed");
      wait.until(b -> "failed".equals(browser.findElement(By.id("map-us-east")).getAttribute("data-lifecycle")));
      wait.until(ExpectedConditions.attributeToBe(By.cssSelector("#region-us-central .readiness"), "data-ready",
          "false"));
      assertEquals("300", browser.findElement(By.cssSelector("#region-us-central .readiness"))
          .getAttribute("data-shortfall-now"));
      assertTrue(text("region-us-central").contains("NOT READY"), text("region-us-central"));
      wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("events"), "readiness_changed"));
      wait.until(ExpectedConditions.presenceOfElementLocated(flow("39N78W", "us-central")));
      browser.executeScript("window.scrollTo(0, 0)");
      shot("drained-and-failed");
      fullShot("console-full"); // docs/images/console.png is this one

      // with us-west drained and us-east failed, us-central serves the US alone: the preview shows the refusal
      // with its rule and message
      click("[data-action=drain][data-region=us-central]");
      browser.findElement(By.id("reason")).sendKeys("one too many");
      browser.findElement(By.id("preview")).click();
      WebElement refusal = wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector(
          "#preview-result .refusal")));
      assertTrue(refusal.getText().startsWith("Refused (409 "), refusal.getText());
      assertFalse(browser.findElement(By.id("confirm")).isEnabled(), "confirm after a refused preview");
      assertEquals("active", lifecycle("us-central"));
      shot("refusal");

      // why does this client get this region: the explain form answers with the API's choice for DNS and HTTP
      click("#cancel");
      WebElement client = browser.findElement(By.id("explain-client"));
      client.sendKeys("198.51.100.7", Keys.ENTER);
      WebElement http = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("explain-http")));
      var api = d.call("GET", "/v1/plan/explain?client=198.51.100.7", "viewer-token", null, null).body();
      assertEquals(api.getJsonObject("http").getString("read"), http.getAttribute("data-read"));
      assertEquals("us-central", http.getAttribute("data-read"), "us-east failed and us-west drained");
      assertTrue(text("explain-summary").contains("zone " + api.getString("zone")), text("explain-summary"));
      WebElement www = browser.findElement(By.cssSelector("#explain-dns li[data-name='www.example.test.']"));
      assertEquals("us-central", www.getAttribute("data-choice"));
      // the us-only name is fenced to us-west, which is drained: no region, the name's fallback
      WebElement fenced = browser.findElement(By.cssSelector("#explain-dns li[data-name='us-only.example.test.']"));
      assertEquals("", fenced.getAttribute("data-choice"));
      assertTrue(fenced.getText().contains("fallback all"), fenced.getText());
      wait.until(ExpectedConditions.presenceOfElementLocated(By.id("map-explain-client")));
      browser.executeScript("document.getElementById('explain-result').scrollIntoView()");
      shot("explain");
      assertNoConsoleErrors("");
    }
  }

  @Test
  void reconnectsAfterARestartLoadsFastAndFitsANarrowWindow(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "demand_estimates: {39N78W: 400, 45N122W: 300}\n",
        TestDeployment.tokensYaml())) {
      d.report(List.of("vp-frankfurt", "vp-virginia"), List.of());
      d.evaluate();
      // the data needs a token: the browser itself gets 401 without one
      browser.get(d.baseUrl() + "/v1/regions");
      assertTrue(browser.findElement(By.tagName("body")).getText().contains("unauthenticated"),
          browser.getPageSource());
      Object status = browser.executeAsyncScript("const done = arguments[0];"
          + " fetch('/v1/regions').then(r => done(r.status), e => done(String(e)))");
      assertEquals(401L, status);

      browser.get(d.baseUrl() + "/console/");
      wait.until(b -> "token".equals(focused()));
      browser.switchTo().activeElement().sendKeys("operator-token", Keys.ENTER);
      waitLifecycle("us-west", "active");
      assertEquals(List.of(), unlabelled(), "every form control has a label");

      // load time on loopback, with the token kept in the tab: navigation to the regions rendered (printed)
      for (int i = 0; i < 3; i++) {
        browser.navigate().refresh();
        waitLifecycle("us-west", "active");
        Object ms = browser.executeScript("const n = performance.getEntriesByType('navigation')[0];"
            + " const m = performance.getEntriesByName('meridian-regions-rendered')[0];"
            + " return [Math.round(n.domContentLoadedEventEnd), Math.round(n.loadEventEnd),"
            + " m ? Math.round(m.startTime) : -1];");
        System.out.println("console load on loopback (run " + (i + 1) + "): DOMContentLoaded / load / regions"
            + " rendered after sign-in, ms since navigation start: " + ms);
      }
      wait.until(ExpectedConditions.textToBe(By.id("stream"), "live"));

      // the controller restarts on the same port: the page says it is reconnecting, then live again, and the
      // new controller's events arrive
      int port = d.stopController();
      wait.until(ExpectedConditions.textToBe(By.id("stream"), "reconnecting…"));
      shot("reconnecting");
      d.startController(port);
      d.evaluate();
      wait.until(ExpectedConditions.textToBe(By.id("stream"), "live"));
      assertEquals(200, d.post("/v1/regions/us-west/drain", "admin-token", "{\"reason\":\"after restart\"}")
          .status());
      wait.until(b -> !"active".equals(lifecycle("us-west")));
      wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("events"), "after restart"));
      // health per vantage point again, from the new controller's observations stream
      d.report(List.of("vp-frankfurt"), List.of());
      wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("region-us-east"), "vp-frankfurt: healthy"));

      // a narrow window: one column, nothing wider than the window
      browser.manage().window().setSize(new org.openqa.selenium.Dimension(420, 900));
      wait.until(b -> Boolean.TRUE.equals(((org.openqa.selenium.JavascriptExecutor) b).executeScript(
          "return document.documentElement.scrollWidth <= window.innerWidth")));
      shot("narrow");
      // the streams were refused while the controller was down, and the browser asked for /favicon.ico when it
      // opened /v1/regions itself: those errors are expected
      assertNoConsoleErrors(".*(ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE|"
          + "ERR_INCOMPLETE_CHUNKED_ENCODING|Failed to fetch|/favicon\\.ico - .*status of 404).*");
    }
  }

  @Test
  void viewerSeesButtonsDisabledAndTheServerRefusesAnyway(Vertx vertx, @TempDir Path dir) throws Exception {
    try (TestDeployment d = new TestDeployment(vertx, dir, "", TestDeployment.tokensYaml())) {
      d.evaluate();
      browser.get(d.baseUrl() + "/console/");
      signIn("viewer-token");
      waitLifecycle("eu-west", "active");
      List<WebElement> buttons = browser.findElements(By.cssSelector("#regions button[data-action]"));
      assertEquals(24, buttons.size(), "six actions on each of four regions");
      for (WebElement b : buttons) {
        assertFalse(b.isEnabled(), b.getAttribute("data-action") + " " + b.getAttribute("data-region"));
      }
      assertFalse(browser.findElement(By.id("freeze")).isEnabled(), "freeze for a viewer");
      assertFalse(browser.findElement(By.id("unfreeze")).isEnabled(), "unfreeze for a viewer");
      shot("viewer");
      // the disabled button is a courtesy: the API refuses the viewer's (forced) call itself
      var refused = d.post("/v1/regions/eu-west/drain", "viewer-token", "{\"reason\":\"x\",\"force\":true}");
      assertEquals(403, refused.status());
      // and an event from elsewhere still reaches the viewer's page
      assertEquals(200, d.post("/v1/regions/us-west/drain", "admin-token", "{\"reason\":\"maintenance\"}").status());
      wait.until(b -> !"active".equals(lifecycle("us-west")));
      assertNoConsoleErrors("");
    }
  }

  private static String regionLifecycle(TestDeployment d, String region) throws Exception {
    for (Object o : d.call("GET", "/v1/regions", "viewer-token", null, null).body().getJsonArray("regions")) {
      var r = (io.vertx.core.json.JsonObject) o;
      if (r.getString("id").equals(region)) {
        return r.getString("lifecycle");
      }
    }
    throw new AssertionError("no region " + region);
  }

  private void signIn(String token) {
    WebElement input = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token")));
    input.clear();
    input.sendKeys(token);
    browser.findElement(By.id("login-submit")).click();
  }

  private void waitLifecycle(String region, String lifecycle) {
    wait.until(b -> lifecycle.equals(lifecycle(region)));
  }

  private String lifecycle(String region) {
    List<WebElement> card = browser.findElements(By.id("region-" + region));
    return card.isEmpty() ? null : card.get(0).getAttribute("data-lifecycle");
  }

  private static By flow(String zone, String region) {
    return By.cssSelector("line.flow[data-zone='" + zone + "'][data-region='" + region + "']");
  }

  /** The id of the element that has the keyboard focus. */
  private String focused() {
    return (String) browser.executeScript("return document.activeElement && document.activeElement.id");
  }

  /** Visible inputs, selects and buttons with no accessible name (label, aria-label or text). */
  @SuppressWarnings("unchecked")
  private List<String> unlabelled() {
    return (List<String>) browser.executeScript("return [...document.querySelectorAll('input, select, textarea')]"
        + ".filter(e => e.offsetParent !== null && !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))"
        + ".map(e => e.id || e.outerHTML)"
        + ".concat([...document.querySelectorAll('button')].filter(e => e.offsetParent !== null"
        + " && !e.textContent.trim() && !e.getAttribute('aria-label')).map(e => e.outerHTML))");
  }

  private void click(String css) {
    wait.until(ExpectedConditions.elementToBeClickable(By.cssSelector(css))).click();
  }

  private String text(String id) {
    return browser.findElement(By.id(id)).getText();
  }

  private void shot(String name) throws Exception {
    Files.write(SHOTS.resolve(name + ".png"), browser.getScreenshotAs(OutputType.BYTES));
  }

  /** The whole page at the window's width (chromium's DevTools capture beyond the viewport). */
  private void fullShot(String name) throws Exception {
    Number width = (Number) browser.executeScript("return document.documentElement.clientWidth");
    Number height = (Number) browser.executeScript("return document.documentElement.scrollHeight");
    Object data = browser.executeCdpCommand("Page.captureScreenshot", java.util.Map.of("format", "png",
        "captureBeyondViewport", true, "clip", java.util.Map.of("x", 0, "y", 0, "width", width, "height", height,
            "scale", 1))).get("data");
    Files.write(SHOTS.resolve(name + ".png"), java.util.Base64.getDecoder().decode((String) data));
  }

  /**
   * JavaScript errors fail the test; the refused calls the test provokes (401, 403, 409) are expected, and so is
   * whatever matches {@code alsoExpected} (a regex; "" for nothing more).
   */
  private void assertNoConsoleErrors(String alsoExpected) {
    for (LogEntry e : browser.manage().logs().get(LogType.BROWSER)) {
      if (e.getLevel().intValue() >= Level.SEVERE.intValue()
          && !e.getMessage().matches(".*status of (401|403|409) .*")
          && !(alsoExpected.length() > 0 && e.getMessage().matches(alsoExpected))) {
        fail("browser console: " + e.getMessage());
      }
    }
  }
}
