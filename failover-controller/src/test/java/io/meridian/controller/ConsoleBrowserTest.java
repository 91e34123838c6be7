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
 * an ephemeral port: sign-in with good and bad tokens, every region with its state, a drain previewed then
 * applied, changes made elsewhere arriving through the event stream, a refusal rendered, a viewer's disabled
 * buttons. Screenshots go to target/console-screenshots/. Without chromium the test skips, except under CI=true.
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
    try (TestDeployment d = new TestDeployment(vertx, dir, "demand_estimates: {39N78W: 400, 45N122W: 300}\n",
        TestDeployment.tokensYaml())) {
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
          "400"));
      d.bus.publishTraffic(new io.meridian.core.TrafficReport("proxy-1", d.clock.instant(), java.util.Map.of(),
          java.util.Map.of("us-east", 123.0), java.util.Map.of(), java.util.Map.of()));
      wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("region-us-east"), "measured 123 rps"));
      shot("signed-in");

      // drain us-west: the preview shows every region's predicted load and changes nothing
      click("[data-action=drain][data-region=us-west]");
      browser.findElement(By.id("reason")).sendKeys("kernel upgrade");
      assertFalse(browser.findElement(By.id("confirm")).isEnabled(), "confirm before a preview");
      browser.findElement(By.id("preview")).click();
      WebElement preview = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("preview-table")));
      assertEquals(4, preview.findElements(By.cssSelector("tbody tr")).size(), preview.getText());
      assertTrue(text("preview-result").contains("Dry run: drain us-west"), text("preview-result"));
      assertEquals("active", lifecycle("us-west"), "a dry run changed the region");
      assertEquals("ACTIVE", regionLifecycle(d, "us-west"), "a dry run changed the controller");
      shot("drain-preview");

      click("#confirm");
      wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("action-result"), "Applied: drain us-west"));
      wait.until(b -> !"active".equals(lifecycle("us-west")));
      // the admin event arrives through /v1/events
      wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("events"), "admin_drain"));

      // a change the page did not ask for (both vantage points see us-east down) reaches it only through the
      // event stream
      d.report(List.of("vp-frankfurt", "vp-virginia"), List.of("us-east"));
      d.evaluate();
      waitLifecycle("us-east", "failed");
      wait.until(b -> "failed".equals(browser.findElement(By.id("map-us-east")).getAttribute("data-lifecycle")));
      shot("drained-and-failed");

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
      assertNoConsoleErrors();
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
      assertEquals(16, buttons.size(), "four actions on each of four regions");
      for (WebElement b : buttons) {
        assertFalse(b.isEnabled(), b.getAttribute("data-action") + " " + b.getAttribute("data-region"));
      }
      shot("viewer");
      // the disabled button is a courtesy: the API refuses the viewer's (forced) call itself
      var refused = d.post("/v1/regions/eu-west/drain", "viewer-token", "{\"reason\":\"x\",\"force\":true}");
      assertEquals(403, refused.status());
      // and an event from elsewhere still reaches the viewer's page
      assertEquals(200, d.post("/v1/regions/us-west/drain", "admin-token", "{\"reason\":\"maintenance\"}").status());
      wait.until(b -> !"active".equals(lifecycle("us-west")));
      assertNoConsoleErrors();
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

  private void click(String css) {
    wait.until(ExpectedConditions.elementToBeClickable(By.cssSelector(css))).click();
  }

  private String text(String id) {
    return browser.findElement(By.id(id)).getText();
  }

  private void shot(String name) throws Exception {
    Files.write(SHOTS.resolve(name + ".png"), browser.getScreenshotAs(OutputType.BYTES));
  }

  /** JavaScript errors fail the test; the refused calls the test provokes (401, 403, 409) are expected. */
  private void assertNoConsoleErrors() {
    for (LogEntry e : browser.manage().logs().get(LogType.BROWSER)) {
      if (e.getLevel().intValue() >= Level.SEVERE.intValue()
          && !e.getMessage().matches(".*status of (401|403|409) .*")) {
        fail("browser console: " + e.getMessage());
      }
    }
  }
}
