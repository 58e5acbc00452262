package org.elasticsearch.plugins;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.elasticsearch.Build;
import org.elasticsearch.action.admin.cluster.node.info.PluginsAndModules;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.spi.SPIClassIterator;

/** PluginsService whose plugins are given as classes on the application classpath. */
public class ClasspathPluginsService extends PluginsService {
    private final List<LoadedPlugin> classpathPlugins;

    public ClasspathPluginsService(Environment environment, Collection<Class<? extends Plugin>> pluginClasses) {
        super(environment.settings(), environment.configDir(), PluginsLoader.createPluginsLoader(Set.of(), Set.of(), Map.of(), false));
        List<LoadedPlugin> loaded = new ArrayList<>();
        for (Class<? extends Plugin> pluginClass : pluginClasses) {
            Plugin plugin = loadPlugin(pluginClass, environment.settings(), environment.configDir());
            PluginDescriptor descriptor = new PluginDescriptor(pluginClass.getName(), "classpath plugin", "NA",
                Build.current().version(), Integer.toString(Runtime.version().feature()), pluginClass.getName(),
                null, List.of(), false, false, false, false);
            loaded.add(new LoadedPlugin(descriptor, plugin, ClasspathPluginsService.class.getClassLoader()));
        }
        loadExtensions(loaded);
        this.classpathPlugins = List.copyOf(loaded);
    }

    @Override
    protected final List<LoadedPlugin> plugins() {
        return classpathPlugins;
    }

    @Override
    public PluginsAndModules info() {
        return new PluginsAndModules(classpathPlugins.stream().map(LoadedPlugin::descriptor).map(PluginRuntimeInfo::new).toList(), List.of());
    }

    @Override
    public <T> List<? extends T> loadServiceProviders(Class<T> service) {
        // every plugin shares the application class loader: load each provider once
        Map<String, T> found = new LinkedHashMap<>();
        for (LoadedPlugin lp : plugins()) {
            Iterator<Class<? extends T>> it = SPIClassIterator.get(service, lp.instance().getClass().getClassLoader());
            while (it.hasNext()) {
                Class<? extends T> c = it.next();
                if (found.containsKey(c.getName()) == false) {
                    found.put(c.getName(), createExtension(c, service, lp.instance()));
                }
            }
        }
        return List.copyOf(found.values());
    }
}
