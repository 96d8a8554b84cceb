package io.bisectbot;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.ConfigurationClassPostProcessor;
import org.springframework.core.env.MapPropertySource;

/** The bisect command's context, by its bean definitions (nothing is started). */
class OneShotApplicationTest {

    @Test
    void theBisectCommandsContextDefinesTheBisectionsBeansAndNoneOfServing() {
        var names = beanNames();
        assertThat(names)
                .contains(
                        "jobQueue",
                        "queueNode",
                        "dataSource",
                        "clock",
                        "encryption",
                        "bisectJobHandler",
                        "dockerExecutor",
                        "cacheRegistry",
                        "meterRegistry");
        // Beans, not their configuration classes or the (unused, lazily bound) settings records.
        assertThat(names)
                .filteredOn(name -> !name.contains(".") && !name.contains("-"))
                .noneMatch(
                        name -> name.matches(
                                ".*([Gg]ithub|[Ww]ebhook|^bot|Bot|[Cc]allback|[Dd]ashboard|shareLinks|accessFilter|tokenCheck).*"));
    }

    private static List<String> beanNames() {
        try (var context = new AnnotationConfigApplicationContext()) {
            context.getEnvironment()
                    .getPropertySources()
                    .addFirst(new MapPropertySource("test", Map.of("bisectbot.mode", "bisect")));
            context.register(OneShotApplication.class);
            var processor = new ConfigurationClassPostProcessor();
            processor.setEnvironment(context.getEnvironment());
            processor.setResourceLoader(context);
            processor.setBeanClassLoader(context.getClassLoader());
            processor.postProcessBeanDefinitionRegistry(context.getDefaultListableBeanFactory());
            return List.of(context.getBeanDefinitionNames());
        }
    }
}
